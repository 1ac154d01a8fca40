import assert from "node:assert/strict";
import { BufferedReader, connectTcp, writeAll } from "../../net/mod.ts";
import { readLineMatching, spawnExample } from "./_spawn.ts";

const encoder = new TextEncoder();

async function sitDown(port: number, name: string) {
  const conn = await connectTcp({ port, timeoutMs: 2000 });
  const reader = new BufferedReader(conn, { timeoutMs: 3000 });
  const say = (line: string) => writeAll(conn, encoder.encode(`${line}\n`));
  assert.match((await reader.readLine())!, /What is your name\?$/);
  await say(name);
  const expect = (pattern: RegExp) =>
    readLineMatching(reader, pattern).then((r) => r.line);
  return { conn, reader, say, expect };
}

Deno.test("guess_game plays a round to a winner announced to all", async () => {
  await using server = await spawnExample("guess_game.ts", {
    args: ["--port=0", "--secret=42", "--players=2"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const alice = await sitDown(server.port, "alice");
  const bob = await sitDown(server.port, "bob");
  try {
    for (const player of [alice, bob]) {
      assert.match(await player.expect(/^\* Round 1:/), /from 1 to 100/);
    }
    // Turns go in join order; out-of-turn guesses are refused.
    await alice.expect(/^\* Your turn, alice/);
    await bob.expect(/^\* alice's turn$/);
    await bob.say("10");
    assert.equal(
      await bob.expect(/^\* Not your turn/),
      "* Not your turn: waiting for alice",
    );

    await alice.say("50");
    assert.equal(await bob.expect(/guessed/), "* alice guessed 50: too high");
    await bob.expect(/^\* Your turn, bob/);
    await bob.say("banana");
    assert.match(
      await bob.expect(/not a number/),
      /^\* "banana" is not a number/,
    );
    await bob.say("30");
    assert.equal(await alice.expect(/guessed/), "* alice guessed 50: too high");
    assert.equal(await alice.expect(/guessed/), "* bob guessed 30: too low");
    await alice.expect(/^\* Your turn, alice/);
    await alice.say("42");
    const won = "* alice wins round 1! The number was 42 (3 guesses)";
    assert.equal(await alice.expect(/wins/), won);
    assert.equal(await bob.expect(/wins/), won);
    // The next round starts by itself, and /who shows the score.
    await bob.expect(/^\* Round 2:/);
    await bob.say("/who");
    assert.equal(
      await bob.expect(/^\* Players/),
      "* Players: alice (1 win), bob (0 wins)",
    );
  } finally {
    alice.conn.close();
    bob.conn.close();
  }
});

Deno.test("guess_game stops the round when too few players remain", async () => {
  await using server = await spawnExample("guess_game.ts", {
    args: ["--port=0", "--secret=7", "--players=2", "--max=10"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const alice = await sitDown(server.port, "alice");
  try {
    assert.equal(
      await alice.expect(/^\* Waiting/),
      "* Waiting for 1 more player(s)",
    );
    const bob = await sitDown(server.port, "bob");
    await bob.expect(/^\* Round 1:/);
    await bob.say("/quit");
    await bob.expect(/^\* Bye/);
    bob.conn.close();
    assert.equal(await alice.expect(/left/), "* bob left (1 player)");
    assert.equal(
      await alice.expect(/stopped/),
      "* Round 1 stopped: waiting for more players",
    );
  } finally {
    alice.conn.close();
  }
});
