// The fuzz properties, shared by fuzz_test.ts (CI budget) and fuzz_long.ts.

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import {
  ProtocolError,
  RequestParser,
  ResponseParser,
} from "../../http1/mod.ts";
import {
  cut,
  cuts,
  mutate,
  mutations,
  pipeline,
  response,
} from "./_arbitraries.ts";
import { run } from "./_helpers.ts";

/** A property over any arguments. */
export type Property = fc.IRawProperty<unknown[]>;

// Every byte yields at most a few events; more steps than this is a loop.
const MAX_STEPS = 10_000;

/** Valid pipelined requests parse to their events under a random split. */
export const validRequests: Property = fc.property(
  pipeline.chain((g) => fc.tuple(fc.constant(g), cuts(g.raw.length))),
  ([g, at]) => {
    const parser = new RequestParser();
    const { events, error } = run(parser, cut(g.raw, at), {
      maxSteps: MAX_STEPS,
    });
    assert.equal(error, undefined, String(error));
    assert.deepEqual(events, g.events);
    assert.equal(parser.bufferedBytes, 0);
  },
);

/** Valid responses parse to their events under a random split. */
export const validResponses: Property = fc.property(
  response.chain((g) => fc.tuple(fc.constant(g), cuts(g.raw.length))),
  ([g, at]) => {
    const parser = new ResponseParser();
    parser.expectResponseTo(g.method);
    const { events, error } = run(parser, cut(g.raw, at), {
      maxSteps: MAX_STEPS,
    });
    assert.equal(error, undefined, String(error));
    assert.deepEqual(events, g.events);
    assert.equal(parser.bufferedBytes, 0);
    assert.equal(parser.outstanding, 0);
  },
);

function onlyProtocolErrors(error: unknown): void {
  if (error !== undefined && !(error instanceof ProtocolError)) throw error;
}

/** Mutated requests parse or throw ProtocolError, within a bounded step count. */
export const mutatedRequests: Property = fc.property(
  pipeline,
  mutations,
  fc.array(fc.nat(), { maxLength: 4 }),
  fc.boolean(),
  (g, edits, at, eof) => {
    const raw = mutate(g.raw, edits);
    const parser = new RequestParser({
      limits: { maxHeadBytes: 512, maxHeaderCount: 10 },
    });
    const { error } = run(
      parser,
      cut(raw, at.map((n) => n % (raw.length + 1))),
      {
        eof,
        maxSteps: MAX_STEPS,
      },
    );
    onlyProtocolErrors(error);
  },
);

/** Mutated responses parse or throw ProtocolError, within a bounded step count. */
export const mutatedResponses: Property = fc.property(
  response,
  mutations,
  fc.array(fc.nat(), { maxLength: 4 }),
  fc.boolean(),
  fc.boolean(),
  (g, edits, at, eof, allowBareLf) => {
    const raw = mutate(g.raw, edits);
    const parser = new ResponseParser({ allowBareLf });
    parser.expectResponseTo(g.method);
    const { error } = run(
      parser,
      cut(raw, at.map((n) => n % (raw.length + 1))),
      {
        eof,
        maxSteps: MAX_STEPS,
      },
    );
    onlyProtocolErrors(error);
  },
);

/** Random bytes (not HTTP at all) parse or throw ProtocolError. */
export const randomBytes: Property = fc.property(
  fc.uint8Array({ maxLength: 300 }),
  fc.boolean(),
  (raw, eof) => {
    const options = { eof, maxSteps: MAX_STEPS };
    onlyProtocolErrors(run(new RequestParser(), [raw], options).error);
    onlyProtocolErrors(run(new ResponseParser(), [raw], options).error);
  },
);

/** Each property by name. */
export const PROPERTIES: Record<string, Property> = {
  "valid pipelined requests parse to the same events under a random split":
    validRequests,
  "valid responses parse to the same events under a random split":
    validResponses,
  "mutated requests parse or throw ProtocolError": mutatedRequests,
  "mutated responses parse or throw ProtocolError": mutatedResponses,
  "random bytes parse or throw ProtocolError": randomBytes,
};
