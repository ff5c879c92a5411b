/**
 * The load generator, run as its own process (pinned apart from the systems
 * under test) by the bench suite: it takes one {@link LoadCommand} at a time
 * over the IPC channel and answers with its result.
 */
import { runOpenLoop } from "./load/open-loop.ts";
import { runSequential } from "./load/sequential.ts";
import { runSlowReaders } from "./load/slow-readers.ts";
import { runStreams } from "./load/streams.ts";
import type { LoadCommand, LoadReply } from "./load-protocol.ts";

function run(cmd: LoadCommand): Promise<NonNullable<LoadReply["result"]>> {
  switch (cmd.kind) {
    case "sequential":
      return runSequential(cmd);
    case "rate":
      return runOpenLoop(cmd);
    case "streams":
      return runStreams(cmd);
    case "slow-readers":
      return runSlowReaders(cmd);
    default: {
      const never: never = cmd;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}

process.on("message", (message: { id: number; command: LoadCommand }) => {
  run(message.command).then(
    (result) => process.send?.({ id: message.id, result } satisfies LoadReply),
    (err: unknown) => process.send?.({ id: message.id, failure: (err as Error).stack ?? String(err) } satisfies LoadReply),
  );
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
