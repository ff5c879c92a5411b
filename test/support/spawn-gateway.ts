import { spawn, type ChildProcessByStdio } from "node:child_process";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A gateway running as its own process, started as `npm start` starts it. */
export interface SpawnedGateway {
  readonly url: string;
  readonly child: ChildProcessByStdio<null, Readable, null>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** Runs `src/main.ts` on 127.0.0.1, port 0, with `env` added, and resolves once it logs its URL. */
export async function spawnGateway(env: Record<string, string>): Promise<SpawnedGateway> {
  const child = spawn(process.execPath, [join(root, "src/main.ts")], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1] as string);
    });
    void exited.then((code) => reject(new Error(`gateway exited with ${code} before listening`)));
  });
  return {
    url,
    child,
    stop(signal) {
      child.kill(signal);
      return exited;
    },
  };
}
