/**
 * A throwaway self-signed certificate for `localhost` / 127.0.0.1, made with
 * the `openssl` command once per test process (null when openssl is absent).
 *
 * @module
 */

/** A PEM certificate and its private key. */
export interface TestCertificate {
  /** PEM certificate (also the trust anchor the client uses). */
  cert: string;
  /** PEM private key. */
  key: string;
}

let generated: Promise<TestCertificate | null> | null = null;

async function generate(): Promise<TestCertificate | null> {
  const dir = await Deno.makeTempDir({ prefix: "h1_tls_" });
  try {
    const { success, stderr } = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        // rustls checks the name in subjectAltName only, and refuses a CA
        // certificate as the server's own.
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) {
      throw new Error(
        `openssl failed: ${new TextDecoder().decode(stderr)}`,
      );
    }
    return {
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The test certificate, generated on first use; null without openssl. */
export function testCertificate(): Promise<TestCertificate | null> {
  return generated ??= generate();
}
