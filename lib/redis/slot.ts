// The Redis Cluster slot of a key (CRC16/XMODEM of its hash tag, mod 16384), computed here so
// a queue can pick shard tags that spread over the slot space (lib/engine/keys.ts, shardTag)
// and tests can say which master holds a shard without asking Redis.

const UTF8 = new TextEncoder();

export const SLOTS = 16_384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    t[i] = crc;
  }
  return t;
})();

/** CRC16/XMODEM (polynomial 0x1021, initial 0) of bytes: the checksum Redis Cluster uses. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = crcStep(crc, byte);
  return crc;
}

/** The CRC after one more byte. */
const crcStep = (crc: number, byte: number) =>
  ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;

/**
 * The CRC16 of some bytes followed by the ASCII digits of `n` (a whole number), from those
 * bytes' CRC (`headCrc`): a CRC goes on from where it stopped (lib/engine/keys.ts shardTag).
 */
export function crc16Digits(headCrc: number, n: number): number {
  const digits = String(n);
  let crc = headCrc;
  for (let i = 0; i < digits.length; i++) crc = crcStep(crc, digits.charCodeAt(i));
  return crc;
}

/** The CRC16 of a string's UTF-8 bytes. */
export function crc16Text(text: string): number {
  return crc16(UTF8.encode(text));
}

/**
 * The slot of a key: only the part between the first `{` and the next `}` counts when that
 * part is not empty (the cluster specification's hash tags), else the whole key.
 */
export function keySlot(key: string): number {
  let hashed = key;
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  return crc16Text(hashed) % SLOTS;
}
