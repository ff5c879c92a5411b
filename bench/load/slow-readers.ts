import * as net from "node:net";
import type { SlowReadersCommand, SlowReadersResult } from "../load-protocol.ts";

/**
 * Opens `clients` raw connections, each sending one streaming request; once
 * the response head arrives the client stops reading (the socket is paused,
 * so the kernel's buffers fill and the sender must wait). After `holdMs` every
 * connection is cut.
 */
export async function runSlowReaders(cmd: SlowReadersCommand): Promise<SlowReadersResult> {
  const url = new URL(cmd.target.url);
  const head = [`POST ${url.pathname} HTTP/1.1`, `host: ${url.host}`, `content-length: ${Buffer.byteLength(cmd.body)}`];
  for (const [k, v] of Object.entries(cmd.target.headers)) head.push(`${k}: ${v}`);
  const request = `${head.join("\r\n")}\r\n\r\n${cmd.body}`;
  const sockets: net.Socket[] = [];
  let errors = 0;
  let error: string | undefined;
  const opened = await Promise.all(
    Array.from({ length: cmd.clients }, () => new Promise<boolean>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname, () => socket.write(request));
      sockets.push(socket);
      socket.once("data", (first: Buffer) => {
        socket.pause();
        const ok = first.toString("latin1").startsWith("HTTP/1.1 200");
        if (!ok) {
          errors++;
          error ??= first.toString("latin1").split("\r\n")[0];
        }
        resolve(ok);
      });
      socket.on("error", (err) => {
        errors++;
        error ??= err.message;
        resolve(false);
      });
    })),
  );
  await new Promise((r) => setTimeout(r, cmd.holdMs));
  for (const s of sockets) s.destroy();
  return { opened: opened.filter(Boolean).length, errors, error };
}
