// deno-lint-ignore-file no-console
/**
 * A small JSON API on {@linkcode Router}: in-memory todos.
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:8000 examples/router_app.ts --port=8000
 * ```
 *
 * Then:
 *
 * ```sh
 * curl -s localhost:8000/todos
 * curl -s -X POST localhost:8000/todos -H 'content-type: application/json' -d '{"title":"write docs"}'
 * curl -s localhost:8000/todos/1
 * curl -s -X DELETE localhost:8000/todos/1 -i
 * curl -s -X PUT localhost:8000/todos -i      # 405, Allow: GET, HEAD, POST, OPTIONS
 * ```
 *
 * With `--port=0` the OS picks a port; allow it with `--allow-net=127.0.0.1`.
 * Ctrl-C stops it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BadRequestError, json } from "../server/body.ts";
import { Router } from "../server/router.ts";
import { accessLog } from "../server/middleware/access_log.ts";
import { serve } from "../server/serve.ts";
import { NetError, toNetError } from "../net/errors.ts";

/** One todo item. */
export interface Todo {
  id: number;
  title: string;
  done: boolean;
}

/** Largest JSON body POST /todos accepts (413 beyond). */
export const MAX_TODO_BYTES = 4096;

/**
 * Builds the API with its own empty store.
 *
 * @param options `log: false` turns the access log off (for tests).
 * @returns The router; `app.fetch` is its Web handler.
 */
export function createApp(options: { log?: boolean } = {}): Router {
  const todos = new Map<number, Todo>();
  let nextId = 1;
  const app = new Router();
  if (options.log ?? true) app.use(accessLog());
  app
    .get("/", () => Response.json({ todos: "/todos" }))
    .get("/todos", () => Response.json([...todos.values()]))
    .get("/todos/:id{\\d+}", (ctx) => {
      const todo = todos.get(Number(ctx.params.id));
      return todo ? Response.json(todo) : notFound(ctx.params.id!);
    })
    .post("/todos", async (ctx) => {
      const body = await json<{ title?: unknown; done?: unknown }>(ctx.req, {
        maxBytes: MAX_TODO_BYTES,
      });
      if (typeof body !== "object" || body === null) {
        throw new BadRequestError(
          "Cannot create todo: body must be a JSON object",
        );
      }
      if (typeof body.title !== "string" || body.title.trim() === "") {
        throw new BadRequestError(
          'Cannot create todo: "title" must be a non-empty string',
        );
      }
      const todo: Todo = {
        id: nextId++,
        title: body.title.trim(),
        done: body.done === true,
      };
      todos.set(todo.id, todo);
      return Response.json(todo, {
        status: 201,
        headers: { location: `/todos/${todo.id}` },
      });
    })
    .delete("/todos/:id{\\d+}", (ctx) => {
      const id = Number(ctx.params.id);
      if (!todos.delete(id)) return notFound(ctx.params.id!);
      return new Response(null, { status: 204 });
    })
    .notFound((ctx) =>
      Response.json({ error: `No route for ${ctx.url.pathname}` }, {
        status: 404,
      })
    );
  return app;
}

function notFound(id: string): Response {
  return Response.json({ error: `No todo ${id}` }, { status: 404 });
}

/** The API, ready to serve: `serve(app.fetch)`. */
export const app: Router = createApp();

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8000" },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`Cannot listen on port "${values.port}": expected 0-65535`);
    Deno.exit(2);
  }
  let server;
  try {
    server = serve({ hostname: values.hostname, port }, app.fetch);
  } catch (error) {
    // Port in use, no permission: one line that says what to do.
    const typed = toNetError(error, { hostname: values.hostname, port });
    if (!(typed instanceof NetError)) throw error;
    console.error(typed.message);
    Deno.exit(1);
  }
  Deno.addSignalListener("SIGINT", () => void server.shutdown());
  await server.finished;
}
