/**
 * Which characters a stored text field (an entry's description, a key's name) may hold. These fields end up on
 * operators' terminals (`allowlist show`, `keys list`), in logs and in the audit log, so anything a terminal or a
 * text renderer would act on rather than show is refused when it is written:
 * - C0 controls U+0000–U+001F (ESC starts terminal escape sequences such as OSC 52, which writes the clipboard;
 *   BEL, BS and CR rewrite what is shown), DEL U+007F, and C1 controls U+0080–U+009F (U+009B is a one-byte CSI);
 * - bidirectional formatting: embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069, and the marks
 *   U+200E, U+200F and U+061C, with which a text can display in an order other than the one it is stored in
 *   ("Trojan Source", CVE-2021-42574);
 * - the line and paragraph separators U+2028 and U+2029, which break a one-line field into several lines;
 * - unpaired UTF-16 surrogates, which are not text at all.
 * Ordinary text of any script, emoji included (their zero-width joiners are kept), is accepted.
 */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- control characters are what this pattern exists to find
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface UnsafeCharacter {
  /** Position in code points, counting from 1, as a person would count the characters. */
  readonly position: number;
  /** `U+001B` */
  readonly codePoint: string;
  /** What kind of character it is, in words. */
  readonly kind: string;
}

/** The first character of `text` that a text field must not hold, or undefined when there is none. */
export function findUnsafeCharacter(text: string): UnsafeCharacter | undefined {
  const m = UNSAFE.exec(text);
  if (!m) return undefined;
  const code = m[0].charCodeAt(0);
  return {
    position: [...text.slice(0, m.index)].length + 1,
    codePoint: `U+${code.toString(16).toUpperCase().padStart(4, '0')}`,
    kind: kindOf(code),
  };
}

function kindOf(code: number): string {
  if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return 'a control character';
  if (code === 0x2028 || code === 0x2029) return 'a line or paragraph separator';
  if (code >= 0xd800 && code <= 0xdfff) return 'an unpaired surrogate';
  return 'a bidirectional formatting character';
}

/**
 * Why the text is refused, for a 400 that names its field before it: `it contains a control character (U+001B) at
 * character 7; control characters, bidirectional formatting characters and line separators are not accepted`.
 */
export function unsafeCharacterReason(found: UnsafeCharacter): string {
  return (
    `it contains ${found.kind} (${found.codePoint}) at character ${found.position}; ` +
    'control characters, bidirectional formatting characters and line separators are not accepted'
  );
}
