// deno-lint-ignore-file no-console
/**
 * TCP chat room: pick a nickname, then every line you type goes to everyone
 * else. Join and leave notices, `/who` lists who is online, `/quit` leaves.
 * Plain lines over TCP, so `nc` is a full client.
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:7002 examples/chat_room.ts --port=7002
 * nc 127.0.0.1 7002    # in two or more other terminals
 * ```
 *
 * Ctrl-C tells everyone the room is closing and stops the server.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  BufferedReader,
  LimitOverrunError,
  listenTcp,
  NetError,
  writeAll,
} from "../net/mod.ts";

const MAX_LINE_BYTES = 1024; // a chat line, not a file upload
const WRITE_TIMEOUT_MS = 5000; // a client this far behind is dropped
const NICKNAME = /^[A-Za-z0-9_-]{1,20}$/;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7002" },
  },
});
const hostname = values.hostname;
const port = parsePort(values.port);

/** One connected person; writes are queued so lines never interleave. */
class Member {
  nick: string | undefined;
  readonly conn: Deno.TcpConn;
  readonly lines: BufferedReader;
  #writes: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.lines = new BufferedReader(conn);
  }

  send(text: string): Promise<void> {
    const bytes = new TextEncoder().encode(`${text}\n`);
    this.#writes = this.#writes.then(async () => {
      if (this.#closed) return;
      try {
        await writeAll(this.conn, bytes, { timeoutMs: WRITE_TIMEOUT_MS });
      } catch {
        this.close(); // gone or stuck: its read loop ends and says goodbye
      }
    });
    return this.#writes;
  }

  /** Resolves once every queued line is written (or dropped). */
  flush(): Promise<void> {
    return this.#writes;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

const members = new Set<Member>();
const everyone = new Set<Member>();

function broadcast(text: string, except?: Member): void {
  for (const member of members) if (member !== except) member.send(text);
}

function nicknames(): string {
  return [...members].map((member) => member.nick).join(", ");
}

async function chat(member: Member): Promise<void> {
  await member.send("Welcome to the h1 chat room! What is your nickname?");
  while (member.nick === undefined) {
    const line = await member.lines.readLine({ maxBytes: MAX_LINE_BYTES });
    if (line === null) return;
    const nick = line.trim();
    const taken = [...members].some((other) =>
      other.nick?.toLowerCase() === nick.toLowerCase()
    );
    if (!NICKNAME.test(nick)) {
      await member.send(
        "* A nickname is 1 to 20 letters, digits, _ or -: try again",
      );
    } else if (taken) {
      await member.send(`* "${nick}" is taken: pick another`);
    } else {
      member.nick = nick;
    }
  }
  members.add(member);
  console.log(`${member.nick} joined`);
  await member.send(
    `* Hello ${member.nick}! Online: ${nicknames()}. Commands: /who, /quit`,
  );
  broadcast(`* ${member.nick} joined`, member);

  while (true) {
    const line = await member.lines.readLine({ maxBytes: MAX_LINE_BYTES });
    if (line === null) return;
    const text = line.trim();
    if (text === "") continue;
    if (text === "/quit") {
      await member.send("* Bye!");
      return;
    } else if (text === "/who") {
      await member.send(`* Online: ${nicknames()}`);
    } else if (text.startsWith("/")) {
      await member.send(`* Unknown command ${text}: try /who or /quit`);
    } else {
      broadcast(`<${member.nick}> ${text}`, member);
    }
  }
}

async function serve(member: Member): Promise<void> {
  everyone.add(member);
  try {
    await chat(member);
  } catch (error) {
    if (error instanceof LimitOverrunError) {
      await member.send(`* Lines are limited to ${MAX_LINE_BYTES} bytes: bye`);
    }
    // Anything else means the conn is gone (reset, or closed by Ctrl-C or a
    // stuck write): there is nobody left to tell.
  } finally {
    everyone.delete(member);
    if (members.delete(member)) {
      console.log(`${member.nick} left`);
      broadcast(`* ${member.nick} left`);
    }
    await member.flush(); // let queued lines go out, then hang up
    member.close();
  }
}

let listener: Deno.TcpListener;
try {
  listener = listenTcp({ hostname, port });
} catch (error) {
  // A missing --allow-net grant: Deno's message says which one.
  if (
    error instanceof NetError || error instanceof Deno.errors.NotCapable
  ) fail(error.message);
  throw error;
}
console.log(`Listening on tcp://${hostname}:${listener.addr.port}`);

async function shutDown(): Promise<void> {
  console.log("Shutting down");
  listener.close();
  await Promise.all(
    [...everyone].map((member) =>
      member.send("* The room is closing. Bye!").then(() => member.close())
    ),
  );
}
Deno.addSignalListener("SIGINT", shutDown);

const sessions = new Set<Promise<void>>();
for await (const conn of listener) {
  const session = serve(new Member(conn)).finally(() =>
    sessions.delete(session)
  );
  sessions.add(session);
}
await Promise.all(sessions);
Deno.removeSignalListener("SIGINT", shutDown);

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`Cannot use --port "${text}": give a number from 0 to 65535`);
  }
  return port;
}

function fail(message: string): never {
  console.error(message);
  Deno.exit(1);
}
