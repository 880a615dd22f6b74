// lib/safe-text.ts's safeText for the page's modules, imported as their neighbour as they import
// each other. This file is never served: /safe-text.js is safeTextModule(), the same list and
// escapes as a module of its own (assets.ts).
export { safeText } from "../../safe-text.ts";
