// deno-lint-ignore-file no-console
// The client against servers no one here wrote: Python's http.server and,
// when installed, nginx. Each test skips with a message when its server is
// missing.
import assert from "node:assert/strict";
import { HTTPConnection } from "../../client/http_connection.ts";
import { request } from "../../client/request.ts";
import { Pool } from "../../client/pool.ts";

async function has(command: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, {
      args: ["-v"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.code === 0 || out.code === 1;
  } catch {
    return false;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill();
  throw new Error(`Server on port ${port} did not start`);
}

const python = await has("python3");
if (!python) {
  console.error("skipping http.server tests: python3 is not on PATH");
}

Deno.test({
  name: "HTTPConnection talks to Python's http.server",
  ignore: !python,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/hello.txt`, "hello from python\n");
    await Deno.writeTextFile(`${dir}/big.bin`, "z".repeat(200_000));
    const port = freePort();
    const child = new Deno.Command("python3", {
      args: [
        "-m",
        "http.server",
        String(port),
        "--bind",
        "127.0.0.1",
        "--protocol",
        "HTTP/1.1",
      ],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitForPort(port, child);
      using conn = new HTTPConnection("127.0.0.1", port, { timeout: 5 });
      await conn.request("GET", "/hello.txt");
      let response = await conn.getresponse();
      assert.equal(response.status, 200);
      assert.equal(response.getheader("Content-Type"), "text/plain");
      assert.equal(
        new TextDecoder().decode(await response.read()),
        "hello from python\n",
      );
      // Keep-alive (HTTP/1.1 protocol): the same socket serves the next ones.
      const sock = conn.sock;
      await conn.request("HEAD", "/big.bin");
      response = await conn.getresponse();
      assert.equal(response.getheader("Content-Length"), "200000");
      assert.equal((await response.read()).length, 0);
      await conn.request("GET", "/big.bin");
      response = await conn.getresponse();
      assert.equal((await response.read()).length, 200_000);
      assert.equal(conn.sock, sock);
      await conn.request("GET", "/missing");
      response = await conn.getresponse();
      assert.equal(response.status, 404);
      await response.read();

      using pool = new Pool();
      const web = await request(`http://127.0.0.1:${port}/hello.txt`, { pool });
      assert.equal(await web.text(), "hello from python\n");
    } finally {
      child.kill();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const nginx = await has("nginx");
if (!nginx) console.error("skipping nginx tests: nginx is not on PATH");

Deno.test({
  name: "Pool pipelines against nginx",
  ignore: !nginx,
  async fn() {
    const dir = await Deno.makeTempDir();
    const port = freePort();
    await Deno.writeTextFile(`${dir}/index.html`, "hello from nginx");
    await Deno.writeTextFile(
      `${dir}/nginx.conf`,
      `daemon off; worker_processes 1; error_log ${dir}/error.log; pid ${dir}/nginx.pid;
events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir};
  fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; root ${dir}; } }`,
    );
    const child = new Deno.Command("nginx", {
      args: ["-c", `${dir}/nginx.conf`, "-p", dir],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitForPort(port, child);
      using pool = new Pool({ maxConnectionsPerOrigin: 1, pipelining: 8 });
      const bodies = await Promise.all(
        Array.from({ length: 16 }, async () => {
          const r = await pool.request(`http://127.0.0.1:${port}`, {
            path: "/index.html",
          });
          return new TextDecoder().decode(await r.read());
        }),
      );
      assert.deepEqual(new Set(bodies), new Set(["hello from nginx"]));
    } finally {
      child.kill();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
