import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The recorded body of a fixture in test/fixtures/: everything after its `---` header line. */
export function fixtureBody(name: string): string {
  const text = readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), "utf8");
  const at = text.indexOf("\n---\n");
  if (at < 0) throw new Error(`fixture ${name} has no --- line after its SOURCE header`);
  return text.slice(at + 5);
}

/** Splits text into chunks of `size` characters, to feed decoders as a network would. */
export function chunked(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
