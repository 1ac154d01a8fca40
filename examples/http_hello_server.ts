// deno-lint-ignore-file no-console
/**
 * The classic Python `http.server` example, ported line by line:
 *
 * ```python
 * class MyHandler(BaseHTTPRequestHandler):
 *     def do_GET(self):
 *         self.send_response(200)
 *         self.send_header('Content-type', 'text/html')
 *         self.end_headers()
 *         self.wfile.write(b'Hello, world!')
 *
 * httpd = HTTPServer(('localhost', 8080), MyHandler)
 * httpd.serve_forever()
 * ```
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=localhost:8080 examples/http_hello_server.ts --port=8080
 * ```
 *
 * Then `curl http://localhost:8080/`. With `--port=0` the OS picks a port;
 * allow it with `--allow-net=localhost`. The bytes on the wire equal
 * Python's apart from the `Server` and `Date` values.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { AddressInUseError } from "../net/errors.ts";
import { HTTPServer } from "../server/http_server.ts";
import { BaseHTTPRequestHandler } from "../server/request_handler.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string", default: "8080" } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Cannot use port "${values.port}": give 0-65535`);
  Deno.exit(2);
}

class MyHandler extends BaseHTTPRequestHandler {
  do_GET() {
    this.send_response(200);
    this.send_header("Content-type", "text/html");
    this.end_headers();
    this.wfile.write(new TextEncoder().encode("Hello, world!"));
  }
}

let httpd: HTTPServer;
try {
  httpd = new HTTPServer(["localhost", port], MyHandler);
} catch (error) {
  if (!(error instanceof AddressInUseError)) throw error;
  console.error(error.message);
  Deno.exit(1);
}
const [host, boundPort] = httpd.server_address;
console.log(
  `Listening on http://${
    host.includes(":") ? `[${host}]` : host
  }:${boundPort}/`,
);
await httpd.serve_forever();
