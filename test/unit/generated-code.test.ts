import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const buf = join(root, "node_modules", ".bin", "buf");

async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(dir, path), await readFile(path, "utf8"));
  }
  return out;
}

describe("generated code", () => {
  it("is exactly what buf generate makes from proto/", async () => {
    const tmp = await mkdtemp(join(tmpdir(), "gen-"));
    try {
      await promisify(execFile)(buf, ["generate", "--output", tmp], { cwd: root, timeout: 60_000, env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` } });
      const fresh = await files(join(tmp, "gen"));
      const committed = await files(join(root, "gen"));
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [name, text] of fresh) expect(committed.get(name), `gen/${name} differs; run npm run generate`).toBe(text);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});
