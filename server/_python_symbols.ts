/**
 * Symbols the Python face's files share without making them public API.
 *
 * @module
 */

/** `handler[RUN]()`: setup, handle, finish, and the exception policy. */
export const RUN: unique symbol = Symbol("run");

/** Extra headers `send_error()` adds before its blank line (static files). */
export const ERROR_HEADERS: unique symbol = Symbol("errorHeaders");
