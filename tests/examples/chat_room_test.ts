import assert from "node:assert/strict";
import { BufferedReader, connectTcp, writeAll } from "../../net/mod.ts";
import { readLineMatching, spawnExample } from "./_spawn.ts";

const encoder = new TextEncoder();

/** A chat participant speaking plain lines, as `nc` would. */
async function join(port: number, nick: string) {
  const conn = await connectTcp({ port, timeoutMs: 2000 });
  const reader = new BufferedReader(conn, { timeoutMs: 3000 });
  const say = (line: string) => writeAll(conn, encoder.encode(`${line}\n`));
  assert.match((await reader.readLine())!, /What is your nickname\?$/);
  await say(nick);
  const expect = (pattern: RegExp) =>
    readLineMatching(reader, pattern).then((r) => r.line);
  await expect(new RegExp(`^\\* Hello ${nick}!`));
  return { conn, reader, say, expect };
}

Deno.test("chat_room relays messages and join, who and leave notices", async () => {
  await using server = await spawnExample("chat_room.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const alice = await join(server.port, "alice");
  let bob: Awaited<ReturnType<typeof join>> | undefined;
  try {
    bob = await join(server.port, "bob");
    assert.equal(await alice.expect(/joined$/), "* bob joined");

    await alice.say("hi bob");
    assert.equal(await bob.expect(/^</), "<alice> hi bob");
    await bob.say("hello alice");
    assert.equal(await alice.expect(/^</), "<bob> hello alice");

    await bob.say("/who");
    assert.equal(await bob.expect(/^\* Online/), "* Online: alice, bob");

    await bob.say("/quit");
    assert.equal(await bob.expect(/^\* Bye/), "* Bye!");
    assert.equal(await bob.reader.readLine(), null); // server hung up
    assert.equal(await alice.expect(/left$/), "* bob left");
  } finally {
    alice.conn.close();
    bob?.conn.close();
  }
});

Deno.test("chat_room refuses a taken or invalid nickname", async () => {
  await using server = await spawnExample("chat_room.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const alice = await join(server.port, "alice");
  const conn = await connectTcp({ port: server.port, timeoutMs: 2000 });
  try {
    const reader = new BufferedReader(conn, { timeoutMs: 3000 });
    await reader.readLine();
    await writeAll(conn, encoder.encode("ALICE\nnot valid!\ncarol\n"));
    assert.equal(await reader.readLine(), '* "ALICE" is taken: pick another');
    assert.match((await reader.readLine())!, /^\* A nickname is 1 to 20/);
    assert.match(
      (await reader.readLine())!,
      /^\* Hello carol! Online: alice, carol/,
    );
    // A line that is not a nickname never reached the room.
    assert.equal(await alice.expect(/joined$/), "* carol joined");
  } finally {
    conn.close();
    alice.conn.close();
  }
});

Deno.test("chat_room announces a client that drops without /quit", async () => {
  await using server = await spawnExample("chat_room.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const alice = await join(server.port, "alice");
  try {
    const bob = await join(server.port, "bob");
    bob.conn.close();
    assert.equal(await alice.expect(/left$/), "* bob left");
  } finally {
    alice.conn.close();
  }
});
