import { randomBytes } from "node:crypto";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const RANDOM_LENGTH = 16;
const ID = /^call_[A-Za-z0-9]{16}(?:_i([0-9a-f]+))?(?:_([su])([A-Za-z0-9_-]+))?$/;

function randomAlnum(length: number): string {
  let out = "";
  for (const byte of randomBytes(length)) out += ALNUM[byte % ALNUM.length];
  return out;
}

/**
 * Creates the OpenAI tool call id for a Gemini function call, which has none
 * on Google AI. What must return with the call on the next request travels
 * inside the id, so that it survives clients that echo only tool call ids
 * (LangChain keeps no unknown message fields): `call_<16 alphanumerics>`,
 * then `_i<hex>` when Gemini gave the call an `id` of its own, then
 * `_s<base64url of the bytes>` for a `thoughtSignature` (`_u<base64url of
 * the text>` when it is not canonical base64). Ids use only `[A-Za-z0-9_-]`,
 * which every provider accepts as a tool id; a signature makes them long
 * (about 4/3 of its bytes).
 * https://ai.google.dev/gemini-api/docs/thought-signatures
 */
export function createGeminiToolCallId(signature?: string, upstreamId?: string): string {
  let id = `call_${randomAlnum(RANDOM_LENGTH)}`;
  if (upstreamId !== undefined && upstreamId !== "") id += `_i${Buffer.from(upstreamId, "utf8").toString("hex")}`;
  if (signature === undefined || signature === "") return id;
  const bytes = Buffer.from(signature, "base64");
  if (bytes.length > 0 && bytes.toString("base64") === signature) return `${id}_s${bytes.toString("base64url")}`;
  return `${id}_u${Buffer.from(signature, "utf8").toString("base64url")}`;
}

/**
 * What a tool call id made by {@link createGeminiToolCallId} carries: the
 * call's thought signature and Gemini's own call id, where it had them.
 * Empty for any other id; `malformed` for an id of this form whose parts do
 * not decode (edited or truncated), which must not reach Gemini.
 */
export function readGeminiToolCallId(id: string): { signature?: string; upstreamId?: string; malformed?: true } {
  const m = ID.exec(id);
  if (!m) return {};
  const out: { signature?: string; upstreamId?: string; malformed?: true } = {};
  if (m[1] !== undefined) {
    // Odd hex is not an id this gateway made (it was edited or truncated).
    if (m[1].length % 2 !== 0) return { malformed: true };
    out.upstreamId = Buffer.from(m[1], "hex").toString("utf8");
  }
  if (m[3] !== undefined) {
    const data = Buffer.from(m[3], "base64url");
    // base64url that does not decode to itself again was not made by this gateway.
    if (data.length === 0 || data.toString("base64url") !== m[3]) return { malformed: true };
    out.signature = m[2] === "s" ? data.toString("base64") : data.toString("utf8");
  }
  return out;
}

/** The thought signature a tool call id carries (see {@link readGeminiToolCallId}). */
export function thoughtSignatureOfToolCallId(id: string): string | undefined {
  return readGeminiToolCallId(id).signature;
}
