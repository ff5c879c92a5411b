import { ChatOpenAI } from "@langchain/openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { startFakeGemini, type FakeGemini } from "../support/fake-gemini.ts";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

/** The integration guide's routing test, for real: each model answers through LangChain from its own provider type. */
describe("routing by model name through LangChain", () => {
  let openai: FakeOpenAI;
  let meta: FakeOpenAI;
  let anthropic: FakeAnthropic;
  let gemini: FakeGemini;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    [openai, meta, anthropic, gemini] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeAnthropic(), startFakeGemini()]);
    gateway = await startTestGateway({
      OPENAI_API_KEY: "sk-openai-test",
      OPENAI_BASE_URL: openai.baseUrl,
      META_API_KEY: "meta-test",
      META_BASE_URL: meta.baseUrl,
      ANTHROPIC_API_KEY: "anthropic-test",
      ANTHROPIC_BASE_URL: anthropic.url,
      GOOGLE_API_KEY: "google-test",
      GOOGLE_BASE_URL: gemini.url,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([openai?.close(), meta?.close(), anthropic?.close(), gemini?.close()]);
  });

  const cases = () =>
    [
      ["gpt-4", openai, "openai"],
      ["claude-3", anthropic, "anthropic"],
      ["gemini-1.5", gemini, "google"],
      ["llama-3", meta, "meta"],
    ] as const;

  it.each(["gpt-4", "claude-3", "gemini-1.5", "llama-3"])("answers %s from its own provider, unary and streamed", async (model) => {
    const [, fake, provider] = cases().find(([m]) => m === model)!;
    const llm = new ChatOpenAI({ model, apiKey: ADMIN_KEY, maxRetries: 0, configuration: { baseURL: `${gateway.url}/v1/langchain` } });
    const before = fake.requests.length;
    const answer = await llm.invoke(`Testing ${model}`);
    expect(answer.content).toBe("Hello there!");
    let streamed = "";
    for await (const chunk of await llm.stream(`Testing ${model}`)) streamed += chunk.content as string;
    expect(streamed).toBe("Hello there!");
    // Both requests reached this provider's upstream, and no other.
    expect(fake.requests.length - before).toBe(2);
    const others = cases().filter(([m]) => m !== model).map(([, f]) => f.requests.filter((r) => JSON.stringify(r.body ?? "").includes(`Testing ${model}`)).length);
    expect(others).toEqual([0, 0, 0]);
    const res = await fetch(`${gateway.url}/v1/langchain/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.headers.get("x-gateway-provider")).toBe(provider);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("Hello there!");
  });
});
