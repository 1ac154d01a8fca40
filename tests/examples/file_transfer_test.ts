import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { runExample, type SpawnedExample, spawnExample } from "./_spawn.ts";

const SIZE = 8 * 1024 * 1024;

/** Writes `size` random bytes to `path` in 64 KiB pieces; returns the sha256. */
async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { write: true, createNew: true });
  const piece = new Uint8Array(64 * 1024);
  for (let left = size; left > 0; left -= piece.length) {
    const part = piece.subarray(0, Math.min(left, piece.length));
    crypto.getRandomValues(part);
    hash.update(part);
    for (let n = 0; n < part.length;) n += await file.write(part.subarray(n));
  }
  return hash.digest("hex");
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of (await Deno.open(path)).readable) {
    hash.update(chunk);
  }
  return hash.digest("hex");
}

interface Setup extends AsyncDisposable {
  server: SpawnedExample;
  work: string;
  dir: string;
  url: string;
}

async function startServer(): Promise<Setup> {
  const work = await Deno.makeTempDir({ prefix: "h1_file_transfer_" });
  const dir = join(work, "store");
  let server: SpawnedExample;
  try {
    server = await spawnExample("file_transfer.ts", {
      args: ["serve", "--dir", dir, "--port", "0"],
      // The least privilege the header comment promises.
      permissions: [
        "--allow-net=127.0.0.1:0",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
      ],
    });
  } catch (error) {
    await Deno.remove(work, { recursive: true });
    throw error;
  }
  return {
    server,
    work,
    dir,
    url: `http://127.0.0.1:${server.port}`,
    async [Symbol.asyncDispose]() {
      await server.kill();
      await Deno.remove(work, { recursive: true });
    },
  };
}

function upload(file: string, url: string, port: number) {
  return runExample("file_transfer.ts", {
    args: ["upload", file, "--url", url],
    permissions: [`--allow-net=127.0.0.1:${port}`, `--allow-read=${file}`],
    timeoutMs: 60_000,
  });
}

function download(name: string, url: string, out: string, port: number) {
  return runExample("file_transfer.ts", {
    args: ["download", name, "--url", url, "--out", out],
    permissions: [
      `--allow-net=127.0.0.1:${port}`,
      `--allow-read=${dirname(out)}`,
      `--allow-write=${dirname(out)}`,
    ],
    timeoutMs: 60_000,
  });
}

const SUMMARY =
  /^(Uploaded|Downloaded) (\d+) bytes in [\d.]+ s \([\d.]+ MB\/s\) sha256 ([0-9a-f]{64})$/m;

Deno.test("file_transfer uploads and downloads 8 MiB with matching sha256", async () => {
  await using setup = await startServer();
  const { server, work, dir, url } = setup;
  const source = join(work, "random.bin");
  const expected = await writeRandomFile(source, SIZE);

  const up = await upload(source, `${url}/files/`, server.port);
  assert.equal(up.code, 0, up.stderr);
  const upLine = up.stdout.match(SUMMARY);
  assert.ok(upLine, up.stdout);
  assert.equal(upLine[2], String(SIZE));
  assert.equal(upLine[3], expected);
  assert.match(up.stdout, /^Verified: sha256 matches/m);
  // The server stored the very bytes, under the file's own name, and
  // left no temporary file behind.
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
    "random.bin",
  ]);
  assert.equal(await sha256Of(join(dir, "random.bin")), expected);
  await server.waitForLine(
    new RegExp(`^PUT random.bin ${SIZE} bytes sha256 ${expected}$`),
  );

  const out = join(work, "copy.bin");
  const down = await download("random.bin", url, out, server.port);
  assert.equal(down.code, 0, down.stderr);
  const downLine = down.stdout.match(SUMMARY);
  assert.ok(downLine, down.stdout);
  assert.equal(downLine[2], String(SIZE));
  assert.equal(downLine[3], expected);
  assert.match(down.stdout, /^Verified: sha256 matches/m);
  assert.equal((await Deno.stat(out)).size, SIZE);
  assert.equal(await sha256Of(out), expected);
  // Not a terminal: no progress bar on stderr.
  assert.equal(down.stderr, "");
});

Deno.test("file_transfer download exits 1 and leaves --out alone when sha256 differs", async () => {
  await using setup = await startServer();
  const { server, work, dir, url } = setup;
  const source = join(work, "data.bin");
  await writeRandomFile(source, 1024 * 1024);
  const up = await upload(source, `${url}/files/data.bin`, server.port);
  assert.equal(up.code, 0, up.stderr);

  // Rot a few bytes on the server's disk but keep size and mtime, so the
  // server still trusts the sha256 it computed at upload time.
  const stored = join(dir, "data.bin");
  const before = await Deno.stat(stored);
  {
    using file = await Deno.open(stored, { read: true, write: true });
    const bytes = new Uint8Array(16);
    await file.seek(4096, Deno.SeekMode.Start);
    assert.equal(await file.read(bytes), bytes.length);
    await file.seek(4096, Deno.SeekMode.Start);
    assert.equal(await file.write(bytes.map((b) => b ^ 0xff)), bytes.length);
  }
  await Deno.utime(stored, before.atime!, before.mtime!);

  const out = join(work, "copy.bin");
  const down = await download("data.bin", url, out, server.port);
  assert.equal(down.code, 1, down.stdout + down.stderr);
  assert.match(
    down.stderr,
    /sha256 [0-9a-f]{64} differs from the server's X-Sha256 [0-9a-f]{64}/,
  );
  assert.match(down.stderr, /^Discarded the download; .* is unchanged$/m);
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  // Nor is a temporary file left behind.
  const left = [];
  for await (const entry of Deno.readDir(work)) left.push(entry.name);
  assert.deepEqual(left.filter((n) => n.endsWith(".part")), []);
});

Deno.test("file_transfer download of a missing file exits 1", async () => {
  await using setup = await startServer();
  const { server, work, url } = setup;
  const out = join(work, "nothing.bin");
  const down = await download("nothing.bin", url, out, server.port);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /answered 404 Not Found: No file "nothing.bin"/);
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

Deno.test("file_transfer server refuses names that could escape its directory", async () => {
  await using setup = await startServer();
  const { server, work, dir, url } = setup;
  const source = join(work, "x.bin");
  await Deno.writeTextFile(source, "x");
  for (const name of [".hidden", "..%2Fescape", "a%2Fb"]) {
    const up = await upload(source, `${url}/files/${name}`, server.port);
    assert.equal(up.code, 1, `${name}: ${up.stdout}`);
    assert.match(up.stderr, /answered 400 Bad Request: Cannot use file name/);
  }
  assert.deepEqual([...Deno.readDirSync(dir)], []);
  assert.deepEqual([...Deno.readDirSync(work)].map((e) => e.name).sort(), [
    "store",
    "x.bin",
  ]);
});
