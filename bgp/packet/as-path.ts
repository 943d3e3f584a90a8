// AS_PATH / AS4_PATH segments (RFC 4271 §4.3, RFC 6793): decode with the negotiated AS width,
// encode, count, and the RFC 6793 §4.2.3 merge of AS_PATH with AS4_PATH on 2-octet sessions.
import { AS_TRANS, SegmentType } from './constants.js';
import type { AsPathSegment } from './attributes.js';

/** Decodes segments from buf[start..end); returns them, or a sentence saying what is wrong. */
export function decodeAsPath(buf: Buffer, start: number, end: number, asSize: 2 | 4): AsPathSegment[] | string {
  const segs: AsPathSegment[] = [];
  let i = start;
  while (i < end) {
    if (i + 2 > end) return `segment header at offset ${i - start} is truncated`;
    const type = buf[i]!;
    const n = buf[i + 1]!;
    if (type < 1 || type > 4) return `segment type ${type} is not defined`;
    if (n === 0) return `segment at offset ${i - start} has no AS numbers`;
    i += 2;
    if (i + n * asSize > end) return `segment of ${n} AS numbers runs past the end of the attribute`;
    const asns = new Array<number>(n);
    if (asSize === 4) {
      for (let k = 0; k < n; k++, i += 4) asns[k] = (buf[i]! * 0x1000000 + ((buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!)) >>> 0;
    } else {
      for (let k = 0; k < n; k++, i += 2) asns[k] = (buf[i]! << 8) | buf[i + 1]!;
    }
    segs.push({ type: type as SegmentType, asns });
  }
  return segs;
}

const isConfed = (t: number): boolean => t === SegmentType.AS_CONFED_SEQUENCE || t === SegmentType.AS_CONFED_SET;

/** Octets the segments take with the given AS width (long segments are split at 255). */
export function asPathWireSize(segs: readonly AsPathSegment[], asSize: 2 | 4): number {
  let n = 0;
  for (const s of segs) {
    const count = s.asns.length;
    if (count === 0) continue;
    n += 2 * Math.ceil(count / 255) + asSize * count;
  }
  return n;
}

/** Writes segments at buf[off]; ASes above 65535 become AS_TRANS when asSize is 2. */
export function writeAsPath(buf: Buffer, off: number, segs: readonly AsPathSegment[], asSize: 2 | 4): number {
  for (const s of segs) {
    const asns = s.asns;
    for (let from = 0; from < asns.length; from += 255) {
      const n = Math.min(255, asns.length - from);
      buf[off] = s.type;
      buf[off + 1] = n;
      off += 2;
      for (let k = from; k < from + n; k++) {
        const a = asns[k]! >>> 0;
        if (asSize === 4) {
          buf[off] = a >>> 24;
          buf[off + 1] = (a >>> 16) & 255;
          buf[off + 2] = (a >>> 8) & 255;
          buf[off + 3] = a & 255;
          off += 4;
        } else {
          const v = a > 0xffff ? AS_TRANS : a;
          buf[off] = v >>> 8;
          buf[off + 1] = v & 255;
          off += 2;
        }
      }
    }
  }
  return off;
}

/** RFC 4271 §9.1.2.2 path length: a set counts 1, confederation segments count 0 (RFC 5065). */
export function asPathLength(segs: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segs) {
    if (s.type === SegmentType.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === SegmentType.AS_SET) n += 1;
  }
  return n;
}

/** Whether a 2-octet AS_PATH loses information, i.e. an AS4_PATH must go with it. */
export function needsAs4Path(segs: readonly AsPathSegment[]): boolean {
  for (const s of segs) {
    if (isConfed(s.type)) continue;
    for (const a of s.asns) if (a > 0xffff) return true;
  }
  return false;
}

/** The AS4_PATH to send with a 2-octet AS_PATH: the path without confederation segments. */
export function as4PathOf(segs: readonly AsPathSegment[]): AsPathSegment[] {
  return segs.filter((s) => !isConfed(s.type));
}

/** RFC 6793 §6: AS4_PATH must not carry confederation segments; the receiver drops them. */
export function withoutConfed(segs: readonly AsPathSegment[]): AsPathSegment[] {
  return segs.filter((s) => !isConfed(s.type));
}

/**
 * RFC 6793 §4.2.3: rebuild the 4-octet path from a 2-octet AS_PATH and an AS4_PATH. If AS_PATH
 * is shorter, AS4_PATH is ignored; otherwise the leading AS numbers of AS_PATH that AS4_PATH
 * lacks (plus leading confederation segments) are put in front of AS4_PATH.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): readonly AsPathSegment[] {
  const n2 = asPathLength(asPath);
  const n4 = asPathLength(as4Path);
  if (n2 < n4) return asPath;
  let need = n2 - n4;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (isConfed(s.type)) {
      out.push(s);
      continue;
    }
    if (need === 0) break;
    if (s.type === SegmentType.AS_SET) {
      out.push(s);
      need -= 1;
    } else {
      const take = Math.min(need, s.asns.length);
      out.push(take === s.asns.length ? s : { type: s.type, asns: s.asns.slice(0, take) });
      need -= take;
      if (need === 0) break;
    }
  }
  // Join a cut AS_SEQUENCE with a leading AS_SEQUENCE of AS4_PATH when it fits one segment.
  const last = out[out.length - 1];
  const first = as4Path[0];
  if (
    last &&
    first &&
    last.type === SegmentType.AS_SEQUENCE &&
    first.type === SegmentType.AS_SEQUENCE &&
    last.asns.length + first.asns.length <= 255
  ) {
    out[out.length - 1] = { type: SegmentType.AS_SEQUENCE, asns: [...last.asns, ...first.asns] };
    out.push(...as4Path.slice(1));
  } else {
    out.push(...as4Path);
  }
  return out;
}
