/**
 * The one password rule: 8-72 bytes of UTF-8. bcrypt reads only the first 72 bytes, so a longer
 * password is refused rather than silently cut (two passwords sharing 72 bytes would both work).
 */
export const PASSWORD_MAX_BYTES = 72;
const PASSWORD_MIN_BYTES = 8;

export const PASSWORD_RULE = `${PASSWORD_MIN_BYTES}-${PASSWORD_MAX_BYTES} bytes of UTF-8`;

export function passwordFits(password: string): boolean {
  const bytes = Buffer.byteLength(password, 'utf8');
  return bytes >= PASSWORD_MIN_BYTES && bytes <= PASSWORD_MAX_BYTES;
}
