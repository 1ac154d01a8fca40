// deno-lint-ignore-file no-console
/**
 * Python's `http.client` example, ported line by line:
 *
 * ```python
 * conn = HTTPConnection('localhost', 8080)
 * conn.request('GET', '/')
 * response = conn.getresponse()
 * print(response.status, response.reason)
 * print(response.read())
 * conn.close()
 * ```
 *
 * Run: npx -y deno@2.9.6 run --allow-net=localhost:8080 examples/http_client.ts --host localhost --port 8080 --path /
 *
 * @module
 */
import { parseArgs } from "node:util";
import { HTTPConnection } from "../client/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    host: { type: "string", default: "localhost" },
    port: { type: "string", default: "8080" },
    path: { type: "string", default: "/" },
  },
});

const conn = new HTTPConnection(values.host, Number(values.port));
await conn.request("GET", values.path);
const response = await conn.getresponse();
console.log(response.status, response.reason);
console.log(await response.read());
conn.close();
