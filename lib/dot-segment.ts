// Names that go into a URL path as a segment of their own (the dashboard's
// `/api/schedules/<name>/pause`, `/api/dead/<id>/requeue`): `.` and `..` cannot. URL resolution
// removes them (`/api/schedules/../pause` is `/api/pause`: Pause on a schedule `..` paused the
// queue), and browsers and servers resolve `%2e%2e` too, so no encoding carries them.

/** A name a URL path cannot carry as a segment: `.` or `..`. */
export function isDotSegment(name: string): boolean {
  return name === "." || name === "..";
}

/** Why such a name is refused, after "must not be . or ..". */
export const DOT_SEGMENT_REASON =
  "the dashboard puts it in a URL path, where . and .. are resolved";
