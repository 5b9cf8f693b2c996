"""A CARLA RPC handshake done in Python before ``carla.Client`` touches the port.

The CARLA client (rpclib, C++) aborts the whole process (SIGABRT, ``clmdep_msgpack::v1::type_error``) when the
port answers with something that is not msgpack-RPC: an HTTP server's 400, an SSH banner. So before the client
is built, :func:`probe_rpc` sends the same first call the client makes (``version``, a msgpack-RPC request
``[0, msgid, "version", []]``) over a plain socket and checks that the answer is a msgpack-RPC response
``[1, msgid, error, result]`` whose result is a version string. Anything else is one BackendError, which a
campaign treats as a backend fault (retried). msgpack is the library that decodes the answer.
"""

from __future__ import annotations

import socket
import time

import msgpack

from adsgen.errors import BackendError, MissingExtraError

HANDSHAKE_TIMEOUT_S = 5.0  # [s] longest wait for the server's answer to the version request
_MSGID = 0x5AD5  # request id of the probe (any 32-bit value; the answer must echo it)
_MAX_ANSWER = 4096  # [bytes] a version answer is ~20 bytes; more is not a CARLA server


def _shown(data: bytes, limit: int = 40) -> str:
    """The first bytes of an answer, printable (so an HTTP status line or SSH banner reads as text)."""
    text = data[:limit].decode("latin-1")
    return repr("".join(c if c.isprintable() else "." for c in text))


def probe_rpc(host: str, port: int, timeout_s: float = HANDSHAKE_TIMEOUT_S) -> str:
    """The server's CARLA version from a msgpack-RPC ``version`` call; BackendError when the port does not
    speak CARLA's RPC (wrong protocol, no answer within timeout_s, connection closed)."""
    try:
        import msgpack
    except ImportError:
        raise MissingExtraError("carla", "msgpack", "the CARLA handshake probe") from None
    where = f"{host}:{port}"
    request = msgpack.packb([0, _MSGID, "version", []])
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=_MAX_ANSWER)
    received = b""
    deadline = time.monotonic() + timeout_s
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(request)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                chunk = sock.recv(_MAX_ANSWER)
                if not chunk:
                    raise BackendError(f"{where} closed the connection without answering CARLA's RPC handshake "
                                       f"(received {_shown(received)}); is this a CARLA server's RPC port?")
                received += chunk
                answer = _first_message(unpacker, chunk, received, where)
                if answer is not None:
                    break
    except TimeoutError:
        raise BackendError(f"{where} accepted a connection but did not answer CARLA's RPC handshake within "
                           f"{timeout_s:g} s (received {_shown(received)}); is this a CARLA server's RPC port?"
                           ) from None
    except OSError as exc:
        raise BackendError(f"CARLA server at {where} is not reachable ({exc.strerror or exc})") from None
    if not (isinstance(answer, list) and len(answer) == 4 and answer[0] == 1 and answer[1] == _MSGID):
        raise _wrong_protocol(where, received)
    if answer[2] is not None or not isinstance(answer[3], str):
        raise BackendError(f"{where} answered CARLA's version call with an error ({str(answer[2])[:200]!r})")
    return answer[3]


def _first_message(unpacker: object, chunk: bytes, received: bytes, where: str) -> object | None:
    """The first complete msgpack object of the answer so far, None when more bytes are needed."""

    if received[:1] != b"\x94":  # a msgpack-RPC response is a 4-element array: its first byte is 0x94
        raise _wrong_protocol(where, received)
    try:
        unpacker.feed(chunk)  # type: ignore[attr-defined]
        return next(iter(unpacker))  # type: ignore[call-overload]
    except StopIteration:
        return None
    except (msgpack.BufferFull, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError):
        raise _wrong_protocol(where, received) from None


def _wrong_protocol(where: str, received: bytes) -> BackendError:
    return BackendError(f"{where} does not speak CARLA's RPC protocol (it answered {_shown(received)}); "
                        "is HOST:PORT a CARLA server's RPC port (default 2000)?")
