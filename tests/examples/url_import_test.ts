import assert from "node:assert/strict";
import { join } from "node:path";
import { serve } from "../../server/serve.ts";
import { serveDir } from "../../server/static.ts";

const REPO = new URL("../..", import.meta.url).pathname;

// What a user writes: h1 imported from a URL, nothing local.
const PROGRAM = (base: string) => `
import {
  BufferedReader,
  connectTcp,
  ResponseParser,
  serve,
  writeAll,
} from "${base}/mod.ts";

const server = serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  (req) => new Response("hello from " + new URL(req.url).pathname),
);
const conn = await connectTcp({ port: server.addr.port, timeoutMs: 2000 });
await writeAll(
  conn,
  new TextEncoder().encode(
    "GET /remote HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n",
  ),
);
// h1's own sans-IO parser reads the answer.
const parser = new ResponseParser();
parser.expectResponseTo("GET");
const reader = new BufferedReader(conn, { timeoutMs: 2000 });
let status = 0;
let body = "";
const decoder = new TextDecoder();
for (let done = false; !done;) {
  const event = parser.next();
  if (event.kind === "head") status = event.status;
  else if (event.kind === "data") body += decoder.decode(event.data);
  else if (event.kind !== "need-data") done = true;
  else {
    const bytes = await reader.read();
    if (bytes === null) parser.receiveEof();
    else parser.receive(bytes);
  }
}
conn.close();
await server.shutdown();
console.log(\`status \${status} body \${body}\`);
`;

Deno.test("mod.ts works when imported from an http:// URL", async () => {
  const fetched = new Set<string>();
  await using repo = serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      fetched.add(new URL(req.url).pathname);
      return serveDir(req, { fsRoot: REPO, showDirListing: false });
    },
  );
  const host = `127.0.0.1:${repo.addr.port}`;
  const base = `http://${host}`;
  const work = await Deno.makeTempDir({ prefix: "h1_url_import_" });
  try {
    const program = join(work, "main.ts");
    await Deno.writeTextFile(program, PROGRAM(base));
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        `--allow-import=${host}`,
        "--allow-net=127.0.0.1",
        "--no-lock",
        // A port can repeat between runs: never trust a cached copy.
        `--reload=${base}/`,
        program,
      ],
      // Outside the repository, so its deno.json plays no part.
      cwd: work,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.equal(stdout, "status 200 body hello from /remote\n");
    // Deno really took h1 from our server, down to the module with the npm:
    // import (mime-db), which Deno allows in remote modules.
    assert.ok(fetched.has("/mod.ts"), [...fetched].join(" "));
    assert.ok(fetched.has("/server/_mime.ts"), [...fetched].join(" "));
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
