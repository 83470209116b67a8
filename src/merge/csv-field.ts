/** One CSV field as RFC 4180 writes it: quoted when it holds a comma, quote or line break. */
export const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
