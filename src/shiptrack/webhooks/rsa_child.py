"""A signing process: makes ShipEngine's RSA signatures for the dispatcher that started it.

    python -m shiptrack.webhooks.rsa_child      (started by ``ProcessSigner``, never by hand)

RSA-2048 is a delivery's costliest step (~0.26 ms of CPU). Signed in threads, each signature
waits for the interpreter lock behind the busy event loop (0.89 ms of wall time per signature,
BENCHMARKS 0h); a process of its own signs on its own core. It talks to its parent through its
standard input and output only, in frames of :data:`HEADER` (kind, number, length) and a payload:

parent → child
    ``K`` key number, the private key (PKCS#8 DER): learn a key.
    ``S`` request number, the key number (4 bytes) and the message: sign it.
child → parent
    ``S`` request number, the signature (base64, ASCII); ``E`` request number, why it failed.

It imports nothing of shiptrack's but this module (no application is loaded), ignores SIGINT and
SIGTERM (a terminal's Ctrl-C and systemd's stop reach the whole group, while the parent still
finishes what it holds: the parent decides when it stops) and ends, silently, when its input
closes: when the parent closes it, exits, or is killed, so it never outlives it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import struct

#: Every frame's header: its kind, its number (a key's or a request's) and its payload's length.
HEADER = struct.Struct("!cII")
#: The four bytes naming the key a ``SIGN`` frame's message is signed with.
KEY_NUMBER = struct.Struct("!I")
KEY = b"K"
SIGN = b"S"
ERROR = b"E"
#: Signatures written back together at most: a batch's first answers do not wait for its last.
ANSWER_EVERY = 4


def serve(read_fd: int = 0, write_fd: int = 1) -> None:
    """Answer frames from ``read_fd`` on ``write_fd`` until ``read_fd`` closes."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    keys: dict[int, rsa.RSAPrivateKey] = {}
    pkcs1 = padding.PKCS1v15()
    sha256 = hashes.SHA256()
    pending = bytearray()
    answers: list[bytes] = []
    while True:
        chunk = os.read(read_fd, 1 << 20)
        if not chunk:
            return
        pending += chunk
        offset = 0
        while len(pending) - offset >= HEADER.size:
            kind, number, length = HEADER.unpack_from(pending, offset)
            start = offset + HEADER.size
            end = start + length
            if len(pending) < end:
                break
            offset = end
            try:
                if kind == KEY:
                    # Checked already: the parent loaded it with the check (~30 ms for RSA-2048,
                    # which here would hold up the first signatures of every process).
                    key = serialization.load_der_private_key(
                        bytes(pending[start:end]), None, unsafe_skip_rsa_key_validation=True
                    )
                    if not isinstance(key, rsa.RSAPrivateKey):
                        raise ValueError("not an RSA key")
                    keys[number] = key
                    continue
                (key_number,) = KEY_NUMBER.unpack_from(pending, start)
                message = bytes(pending[start + KEY_NUMBER.size : end])
                signer = keys.get(key_number)
                if signer is None:
                    raise LookupError(f"key {key_number} could not be loaded")
                signature = signer.sign(message, pkcs1, sha256)
                answer = base64.b64encode(signature)
                answers.append(HEADER.pack(SIGN, number, len(answer)) + answer)
            except Exception as error:  # the parent fails that one request, and goes on
                if kind == KEY:
                    continue  # the requests signed with it fail, saying so
                text = f"{type(error).__name__}: {error}".encode()
                answers.append(HEADER.pack(ERROR, number, len(text)) + text)
            if len(answers) >= ANSWER_EVERY:
                _write_all(write_fd, b"".join(answers))
                answers.clear()
        del pending[:offset]
        if answers:
            _write_all(write_fd, b"".join(answers))
            answers.clear()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> None:
    """The process's entry point."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(BrokenPipeError):  # the parent is gone: nobody to answer
        serve()


if __name__ == "__main__":
    main()
