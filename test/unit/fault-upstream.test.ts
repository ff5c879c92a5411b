import type { Readable } from "node:stream";
import { request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { refusedUrl, startFaultUpstream, type FaultUpstream } from "../support/fault-upstream.ts";

/** What reading a body for a while gave: its text, and whether it ended, failed or is still open. */
interface Read {
  text: string;
  outcome: "end" | "error" | "open";
}

/** Reads `body` until it ends, fails or `ms` pass; an open body is paused, not destroyed, and may be read on. */
function readFor(body: Readable, ms: number): Promise<Read> {
  let text = "";
  body.on("error", () => {});
  return new Promise((resolve) => {
    const settle = (outcome: Read["outcome"]) => {
      clearTimeout(timer);
      body.off("data", onData).off("end", onEnd).off("error", onError);
      body.pause();
      resolve({ text, outcome });
    };
    const onData = (chunk: Buffer) => void (text += chunk.toString("utf8"));
    const onEnd = () => settle("end");
    const onError = () => settle("error");
    const timer = setTimeout(() => settle("open"), ms);
    body.on("data", onData).once("end", onEnd).once("error", onError).resume();
  });
}

/** The JSON payloads of `data:` frames, `[DONE]` kept as a string. */
function frames(text: string): unknown[] {
  return text
    .split("\n\n")
    .filter((f) => f.startsWith("data: "))
    .map((f) => f.slice(6))
    .map((d) => (d === "[DONE]" ? d : JSON.parse(d)));
}

function contentOf(payloads: unknown[]): string {
  return payloads.map((p: any) => p?.choices?.[0]?.delta?.content ?? "").join("");
}

describe("fault upstream", () => {
  let up: FaultUpstream;
  beforeEach(async () => {
    up = await startFaultUpstream({ name: "alpha" });
  });
  afterEach(() => up.close());

  const chat = (body: Record<string, unknown> = {}) =>
    request(`${up.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-test" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }], ...body }),
    });
  const stream = { stream: true, stream_options: { include_usage: true } };

  it("answers a unary request with a whole chat.completion naming itself and echoing the model", async () => {
    const res = await chat();
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    const body: any = await res.body.json();
    expect(body).toMatchObject({ object: "chat.completion", model: "gpt-4o-mini", usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.choices).toEqual([{ index: 0, message: { role: "assistant", content: "Hello from alpha.", refusal: null }, logprobs: null, finish_reason: "stop" }]);
    expect(up.requests[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions", body: { model: "gpt-4o-mini" }, fault: { kind: "ok" } });
    expect(up.requests[0]?.headers.authorization).toBe("Bearer sk-test");
  });

  it("streams role, content deltas, finish, a usage chunk without choices and [DONE]", async () => {
    up.next({ kind: "ok", text: "abcdef", deltas: 2, model: "served-model", finishReason: "length" });
    const res = await chat(stream);
    expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
    const payloads = frames(await res.body.text());
    expect(payloads).toHaveLength(6);
    expect(payloads[0]).toMatchObject({ object: "chat.completion.chunk", model: "served-model", usage: null, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
    expect(contentOf(payloads)).toBe("abcdef");
    expect(payloads[3]).toMatchObject({ choices: [{ delta: {}, finish_reason: "length" }] });
    expect(payloads[4]).toMatchObject({ choices: [], usage: { completion_tokens: 2 } });
    expect(payloads[5]).toBe("[DONE]");
  });

  it("leaves the usage chunk out when the request does not ask for it", async () => {
    const payloads = frames(await (await chat({ stream: true })).body.text());
    expect(payloads.some((p: any) => p?.usage)).toBe(false);
    expect(payloads.at(-1)).toBe("[DONE]");
  });

  it("sends headers and the role chunk at once and the first token only after its delay", async () => {
    up.next({ kind: "ok", firstTokenDelayMs: 200, deltas: 2, gapMs: 50 });
    const start = performance.now();
    const res = await chat(stream);
    const early = await readFor(res.body, 120);
    expect(early.outcome).toBe("open");
    expect(contentOf(frames(early.text))).toBe("");
    expect(frames(early.text)).toHaveLength(1);
    const rest = await readFor(res.body, 1000);
    expect(rest.outcome).toBe("end");
    expect(performance.now() - start).toBeGreaterThanOrEqual(245);
    expect(contentOf(frames(rest.text))).toBe("Hello from alpha.");
  });

  it("answers queued faults in order, then the default, which may depend on the request", async () => {
    up.next({ kind: "status", status: 500 }, { kind: "status", status: 503 });
    up.setDefault((req) => ((req.body as { model?: string }).model === "b" ? { kind: "status", status: 404 } : { kind: "ok", text: "default" }));
    const statuses = [];
    for (const model of ["a", "a", "b", "a"]) statuses.push((await chat({ model })).statusCode);
    expect(statuses).toEqual([500, 503, 404, 200]);
    expect(up.chatCount).toBe(4);
  });

  it("answers an error status with OpenAI's envelope and the headers given", async () => {
    up.next({ kind: "status", status: 429, headers: { "retry-after": "2" } }, { kind: "status", status: 529 }, { kind: "status", status: 503, body: "upstream connect error" });
    const limited = await chat(stream);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["retry-after"]).toBe("2");
    expect(await limited.body.json()).toEqual({ error: { message: expect.any(String), type: "requests", param: null, code: "rate_limit_exceeded" } });
    const overloaded = await chat();
    expect(overloaded.statusCode).toBe(529);
    expect(await overloaded.body.json()).toMatchObject({ error: { type: "overloaded_error" } });
    const raw = await chat();
    expect(raw.statusCode).toBe(503);
    expect(await raw.body.text()).toBe("upstream connect error");
  });

  it("resets the connection before any header", async () => {
    up.next({ kind: "reset" });
    await expect(chat()).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|UND_ERR_SOCKET/) });
    expect(up.chatCount).toBe(1);
  });

  it("sends 200 headers and then nothing, and close() still returns at once", async () => {
    up.next({ kind: "silence" }, { kind: "silence" });
    const streamed = await chat(stream);
    expect(streamed.statusCode).toBe(200);
    expect(streamed.headers["content-type"]).toBe("text/event-stream");
    const unary = await chat();
    expect(unary.headers["content-type"]).toBe("application/json");
    expect(await readFor(streamed.body, 100)).toEqual({ text: "", outcome: "open" });
    const start = performance.now();
    await up.close();
    expect(performance.now() - start).toBeLessThan(200);
    expect((await readFor(unary.body, 500)).outcome).toBe("error");
  });

  it("cuts a stream after k deltas: no finish chunk, and the body fails", async () => {
    up.next({ kind: "cut", afterDeltas: 2 });
    const read = await readFor((await chat(stream)).body, 500);
    expect(read.outcome).toBe("error");
    const payloads = frames(read.text);
    expect(payloads).toHaveLength(3);
    expect(payloads.some((p: any) => p?.choices?.[0]?.finish_reason)).toBe(false);
    expect("Hello from alpha.".startsWith(contentOf(payloads))).toBe(true);
  });

  it("cuts a unary body half-way", async () => {
    up.next({ kind: "cut", afterDeltas: 0 });
    const res = await chat();
    expect(res.statusCode).toBe(200);
    const read = await readFor(res.body, 500);
    expect(read.outcome).toBe("error");
    expect(read.text).toMatch(/^\{"id":"chatcmpl-/);
  });

  it("stalls a stream after k deltas with the connection open", async () => {
    up.next({ kind: "stall", afterDeltas: 1 });
    const read = await readFor((await chat(stream)).body, 150);
    expect(read.outcome).toBe("open");
    expect(frames(read.text)).toHaveLength(2);
  });

  it("sends malformed JSON, unary and streamed", async () => {
    up.next({ kind: "malformed" }, { kind: "malformed" });
    const unary = await chat();
    expect(unary.statusCode).toBe(200);
    await expect(unary.body.json()).rejects.toThrow();
    const text = await (await chat(stream)).body.text();
    expect(text).toContain("\n\ndata: {not json\n\n");
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("trickles a unary body that never ends", async () => {
    up.next({ kind: "endless", intervalMs: 30 });
    const res = await chat();
    expect(res.statusCode).toBe(200);
    const read = await readFor(res.body, 200);
    expect(read.outcome).toBe("open");
    expect(read.text.length).toBeGreaterThanOrEqual(3);
    expect(read.text.length).toBeLessThan(10);
  });

  it("keeps an endless stream busy with comments and no content", async () => {
    up.next({ kind: "endless", intervalMs: 30 });
    const read = await readFor((await chat(stream)).body, 200);
    expect(read.outcome).toBe("open");
    expect(read.text).toContain(": keep-alive\n\n");
    expect(contentOf(frames(read.text))).toBe("");
  });

  it("ends a whole stream cleanly without [DONE], closing the connection", async () => {
    up.next({ kind: "no-done" });
    const res = await chat(stream);
    expect(res.headers.connection).toBe("close");
    const read = await readFor(res.body, 500);
    expect(read.outcome).toBe("end");
    const payloads = frames(read.text);
    expect(contentOf(payloads)).toBe("Hello from alpha.");
    expect(payloads.at(-2)).toMatchObject({ choices: [{ finish_reason: "stop" }] });
    expect(payloads.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: 12 } });
    expect(payloads).not.toContain("[DONE]");
  });

  it("sends an in-band error frame after k deltas, then ends without [DONE]", async () => {
    up.next({ kind: "in-band-error", afterDeltas: 1 });
    const read = await readFor((await chat(stream)).body, 500);
    expect(read.outcome).toBe("end");
    const payloads = frames(read.text);
    expect(payloads).toHaveLength(3);
    expect(payloads[2]).toEqual({ error: { message: expect.any(String), type: "server_error", param: null, code: null } });
  });

  it("lists models for health probes, or answers the status set", async () => {
    const models = async () => request(`${up.url}/models`);
    const ok = await models();
    expect(await ok.body.json()).toEqual({ object: "list", data: [{ id: "gpt-4o-mini", object: "model", created: 1700000000, owned_by: "alpha" }] });
    up.setModelsStatus(503);
    const down = await models();
    expect(down.statusCode).toBe(503);
    await down.body.dump();
    expect(up.modelsCount).toBe(2);
    expect(up.chatCount).toBe(0);
  });

  it("refuses connections after stop() and answers again on the same port after restart()", async () => {
    up.next({ kind: "stall", afterDeltas: 1 });
    const stalled = await chat(stream);
    await up.stop();
    expect((await readFor(stalled.body, 500)).outcome).toBe("error");
    await expect(chat()).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await up.restart();
    const res = await chat();
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ choices: [{ message: { content: "Hello from alpha." } }] });
    expect(up.chatCount).toBe(2);
  });
});

describe("refusedUrl", () => {
  it("names a port on which nothing listens", async () => {
    const url = await refusedUrl();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    await expect(request(`${url}/models`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
