import { describe, expect, it } from "vitest";
import { validateChatRequest } from "../../src/chat/validate-chat-request.ts";
import { GatewayError } from "../../src/errors/gateway-error.ts";

function paramOf(body: unknown): string | undefined {
  try {
    validateChatRequest(body);
  } catch (err) {
    if (err instanceof GatewayError) return err.param ?? "(none)";
    throw err;
  }
  return undefined;
}

const ok = { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] };

describe("chat request validation", () => {
  it("keeps fields it does not name in extra, and messages exactly as sent", () => {
    const msg = { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }], reasoning_content: "hmm" };
    const req = validateChatRequest({ ...ok, messages: [...ok.messages, msg], reasoning_effort: "low", top_k: 3 });
    expect(req.extra).toEqual({ reasoning_effort: "low", top_k: 3 });
    expect(req.messages[1]).toBe(msg);
    expect(req.stream).toBe(false);
  });

  it("drops null optional fields instead of rejecting them", () => {
    const req = validateChatRequest({ ...ok, temperature: null, stop: null, tools: null });
    expect("temperature" in req).toBe(false);
  });

  it.each([
    [{ messages: ok.messages }, "model"],
    [{ model: "m", messages: [] }, "messages"],
    [{ model: "m", messages: [{ role: "robot", content: "x" }] }, "messages[0].role"],
    [{ model: "m", messages: [{ role: "user" }] }, "messages[0].content"],
    [{ model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] }, "messages[0].content[0].image_url.url"],
    [{ model: "m", messages: [{ role: "tool", content: "x" }] }, "messages[0].tool_call_id"],
    [{ model: "m", messages: [{ role: "assistant", content: null, tool_calls: [{ id: "a", function: { name: "f", arguments: {} } }] }] }, "messages[0].tool_calls[0].function.arguments"],
    [{ ...ok, temperature: 3 }, "temperature"],
    [{ ...ok, n: 0 }, "n"],
    [{ ...ok, max_tokens: 1.5 }, "max_tokens"],
    [{ ...ok, stop: ["a", "b", "c", "d", "e"] }, "stop"],
    [{ ...ok, tools: [{ type: "function", function: {} }] }, "tools[0].function.name"],
    [{ ...ok, tool_choice: "sometimes" }, "tool_choice"],
    [{ ...ok, response_format: { type: "xml" } }, "response_format.type"],
    [{ ...ok, response_format: { type: "json_schema", json_schema: {} } }, "response_format.json_schema.name"],
    [{ ...ok, stream_options: { include_usage: "yes" } }, "stream_options.include_usage"],
  ])("rejects %j naming %s", (body, param) => {
    expect(paramOf(body)).toBe(param);
  });

  it("accepts every documented shape of content, tools, tool_choice and response_format", () => {
    expect(
      paramOf({
        model: "m",
        messages: [
          { role: "developer", content: [{ type: "text", text: "be brief" }] },
          { role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } }] },
        ],
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" }, strict: true } }],
        tool_choice: { type: "function", function: { name: "f" } },
        response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" }, strict: true } },
        stop: "END",
        stream: true,
        stream_options: { include_usage: true },
      }),
    ).toBeUndefined();
  });
});
