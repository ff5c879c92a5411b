/** Key-shaped substrings: "sk-…", "Bearer …", and long opaque tokens. */
const SECRET = /\b(?:sk|pk|rk|gsk|xai|key|api[-_]?key)[-_][A-Za-z0-9_*.\-]{6,}|\bBearer\s+\S+|\b[A-Za-z0-9_\-]{32,}\b/gi;

/**
 * Removes anything that looks like a credential from text that came from an
 * upstream (error messages can echo part of the key that was sent).
 */
export function redactSecrets(text: string): string {
  return text.replace(SECRET, "[redacted]");
}
