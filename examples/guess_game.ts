// deno-lint-ignore-file no-console
/**
 * Guess-the-number for several players over TCP. Players take turns; after
 * each guess everyone hears "too low" or "too high"; the first to hit the
 * number wins the round, and a new round starts.
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:7003 examples/guess_game.ts --port=7003
 * nc 127.0.0.1 7003    # one terminal per player
 * ```
 *
 * `--players` players are needed to start (default 2), numbers run from 1 to
 * `--max` (default 100), and `--secret=42` fixes the number of every round,
 * which makes games repeatable for tests. `/who` shows the scores, `/quit`
 * leaves. Ctrl-C stops the server.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BufferedReader, listenTcp, NetError, writeAll } from "../net/mod.ts";

const MAX_LINE_BYTES = 256;
const WRITE_TIMEOUT_MS = 5000;
const NAME = /^[A-Za-z0-9_-]{1,20}$/;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7003" },
    players: { type: "string", default: "2" },
    max: { type: "string", default: "100" },
    secret: { type: "string" },
  },
});
const hostname = values.hostname;
const port = parsePort(values.port);
const needed = positiveInteger("--players", values.players);
const max = positiveInteger("--max", values.max);
const fixedSecret = values.secret === undefined
  ? undefined
  : positiveInteger("--secret", values.secret);
if (fixedSecret !== undefined && fixedSecret > max) {
  fail(`Cannot use --secret ${fixedSecret}: it must be at most --max ${max}`);
}

/** One connected player; writes are queued so lines never interleave. */
class Player {
  name: string | undefined;
  wins = 0;
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
        this.close();
      }
    });
    return this.#writes;
  }

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

interface Round {
  number: number;
  secret: number;
  guesses: number;
  /** Index into `players` of whose turn it is. */
  turn: number;
}

/** Seated players in turn order. */
const players: Player[] = [];
const connected = new Set<Player>();
let round: Round | undefined;
let roundsPlayed = 0;

function announce(text: string): void {
  console.log(text);
  for (const player of players) player.send(text);
}

function startRound(): void {
  roundsPlayed += 1;
  round = {
    number: roundsPlayed,
    secret: fixedSecret ?? 1 + Math.floor(Math.random() * max),
    guesses: 0,
    turn: 0,
  };
  announce(
    `* Round ${round.number}: I picked a number from 1 to ${max}. Take turns guessing.`,
  );
  announceTurn();
}

function announceTurn(): void {
  if (round === undefined) return;
  const current = players[round.turn];
  if (current === undefined) return;
  for (const player of players) {
    player.send(
      player === current
        ? `* Your turn, ${current.name}: guess a number from 1 to ${max}`
        : `* ${current.name}'s turn`,
    );
  }
}

function guess(player: Player, text: string): void {
  if (round === undefined) {
    player.send(`* Waiting for ${needed - players.length} more player(s)`);
    return;
  }
  const current = players[round.turn];
  if (player !== current) {
    player.send(`* Not your turn: waiting for ${current?.name}`);
    return;
  }
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    player.send(`* "${text}" is not a number from 1 to ${max}: try again`);
    return;
  }
  round.guesses += 1;
  if (value === round.secret) {
    player.wins += 1;
    announce(
      `* ${player.name} wins round ${round.number}! The number was ${round.secret} (${round.guesses} guesses)`,
    );
    round = undefined;
    if (players.length >= needed) startRound();
    return;
  }
  announce(
    `* ${player.name} guessed ${value}: too ${
      value < round.secret ? "low" : "high"
    }`,
  );
  round.turn = (round.turn + 1) % players.length;
  announceTurn();
}

function scores(): string {
  return players.map((p) => `${p.name} (${plural(p.wins, "win")})`).join(", ");
}

function seat(player: Player): void {
  players.push(player);
  announce(`* ${player.name} joined (${plural(players.length, "player")})`);
  if (round !== undefined) {
    player.send(`* Round ${round.number} is on: you play from the next turn`);
  } else if (players.length >= needed) {
    startRound();
  } else {
    announce(`* Waiting for ${needed - players.length} more player(s)`);
  }
}

function unseat(player: Player): void {
  const index = players.indexOf(player);
  if (index === -1) return;
  players.splice(index, 1);
  announce(`* ${player.name} left (${plural(players.length, "player")})`);
  if (round === undefined) return;
  if (players.length < needed) {
    announce(`* Round ${round.number} stopped: waiting for more players`);
    round = undefined;
  } else if (index < round.turn) {
    round.turn -= 1;
  } else if (index === round.turn) {
    round.turn %= players.length; // the next player moved into this seat
    announceTurn();
  }
}

async function play(player: Player): Promise<void> {
  await player.send("Welcome to guess-the-number! What is your name?");
  while (player.name === undefined) {
    const line = await player.lines.readLine({ maxBytes: MAX_LINE_BYTES });
    if (line === null) return;
    const name = line.trim();
    if (!NAME.test(name)) {
      await player.send(
        "* A name is 1 to 20 letters, digits, _ or -: try again",
      );
    } else if (
      players.some((p) => p.name?.toLowerCase() === name.toLowerCase())
    ) {
      await player.send(`* "${name}" is taken: pick another`);
    } else {
      player.name = name;
    }
  }
  seat(player);
  while (true) {
    const line = await player.lines.readLine({ maxBytes: MAX_LINE_BYTES });
    if (line === null) return;
    const text = line.trim();
    if (text === "") continue;
    if (text === "/quit") {
      await player.send("* Bye!");
      return;
    } else if (text === "/who") {
      player.send(`* Players: ${scores()}`);
    } else {
      guess(player, text);
    }
  }
}

async function serve(player: Player): Promise<void> {
  connected.add(player);
  try {
    await play(player);
  } catch {
    // Line too long, reset, or closed by Ctrl-C: the player just leaves.
  } finally {
    connected.delete(player);
    unseat(player);
    await player.flush();
    player.close();
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

function shutDown(): void {
  console.log("Shutting down");
  listener.close();
  for (const player of connected) {
    player.send("* The game is closing. Bye!").then(() => player.close());
  }
}
Deno.addSignalListener("SIGINT", shutDown);

const sessions = new Set<Promise<void>>();
for await (const conn of listener) {
  const session = serve(new Player(conn)).finally(() =>
    sessions.delete(session)
  );
  sessions.add(session);
}
await Promise.all(sessions);
Deno.removeSignalListener("SIGINT", shutDown);

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    fail(`Cannot use ${flag} "${text}": give a whole number of at least 1`);
  }
  return value;
}

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
