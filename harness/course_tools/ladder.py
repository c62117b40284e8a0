"""Ladder diagrams (sequence diagrams) of a packet capture, as SVG: what
`./course capture NN --svg` draws from tshark's view of a lesson's demo.

One vertical line per endpoint (the client's port or ports, the server's port),
one arrow per packet with its TCP flags and payload size (and the first bytes
of the payload) as text, time going down, a gap marked where the programs paused.

    packets = packets_from_tshark(text)   # the output of tshark TSHARK_ARGS
    svg = ladder_svg(packets, server_port=43059, title="lesson 06")

Both are pure functions (no tshark, no files): show.capture runs tshark and
writes the file; harness/tests/test_figures.py feeds them made-up packets."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

# `tshark -r PCAP <TSHARK_ARGS>` prints one line per packet, these fields tab-separated
# (an absent field is empty; `occurrence=f`: the outer header of an ICMP error).
TSHARK_FIELDS = ["frame.time_relative", "ip.src", "ipv6.src", "tcp.srcport", "udp.srcport",
                 "ip.dst", "ipv6.dst", "tcp.dstport", "udp.dstport", "tcp.flags", "tcp.len",
                 "udp.length", "tcp.payload", "udp.payload", "tcp.analysis.retransmission"]
TSHARK_ARGS = ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=f",
               *[arg for field in TSHARK_FIELDS for arg in ("-e", field)]]

FLAG_NAMES = [(0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK"),
              (0x20, "URG"), (0x40, "ECE"), (0x80, "CWR")]


@dataclass(frozen=True)
class Packet:
    """One captured packet. `flags` is the TCP flags byte (SYN = 0x02, ACK = 0x10, ...);
    `length` the payload's size in bytes, `payload` its bytes when the capture has them."""
    time: float
    src: str
    sport: int
    dst: str
    dport: int
    proto: str = "tcp"
    flags: int = 0
    length: int = 0
    payload: bytes = b""
    retransmission: bool = False


def packets_from_tshark(text: str) -> list[Packet]:
    """Parses `tshark -r PCAP <TSHARK_ARGS>`; lines that are neither TCP nor UDP are left out."""
    packets = []
    for line in text.splitlines():
        if not line.strip():
            continue
        cells = (line.split("\t") + [""] * len(TSHARK_FIELDS))[:len(TSHARK_FIELDS)]
        f = dict(zip(TSHARK_FIELDS, cells))
        tcp = bool(f["tcp.srcport"])
        if not tcp and not f["udp.srcport"]:
            continue
        payload_hex = (f["tcp.payload"] if tcp else f["udp.payload"]).replace(":", "")
        try:
            payload = bytes.fromhex(payload_hex)
        except ValueError:
            payload = b""
        if tcp:
            length = int(f["tcp.len"] or 0)
        else:
            length = max(int(f["udp.length"] or 8) - 8, 0)
        packets.append(Packet(
            time=float(f["frame.time_relative"] or 0),
            src=f["ip.src"] or f["ipv6.src"], dst=f["ip.dst"] or f["ipv6.dst"],
            sport=int(f["tcp.srcport"] or f["udp.srcport"]),
            dport=int(f["tcp.dstport"] or f["udp.dstport"]),
            proto="tcp" if tcp else "udp",
            flags=int(f["tcp.flags"], 0) if tcp and f["tcp.flags"] else 0,
            length=length, payload=payload,
            retransmission=bool(f["tcp.analysis.retransmission"])))
    return packets


# ------------------------------------------------------------------ labels

def flag_names(flags: int) -> str:
    """0x12 -> "SYN/ACK", 0x18 -> "PSH/ACK", 0x11 -> "FIN/ACK"."""
    return "/".join(name for bit, name in FLAG_NAMES if flags & bit) or "(no flags)"


def preview(payload: bytes, length: int, limit: int = 16) -> str:
    """The payload's first bytes, for a label: text in quotes when it is text
    ("hello", "GET /hello.txt…"), else hex ("00 00 00 05 68…")."""
    if not payload:
        return ""
    data = payload[:limit * 4]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as failure:  # a character cut at the end: show what is before
        text = data[:failure.start].decode("utf-8") if failure.end == len(data) and \
            failure.start else None
    if text is not None:
        shown = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
        if shown.isprintable():
            cut = len(shown) > limit or len(text.encode("utf-8")) < length
            return '"' + shown[:limit] + ('…"' if cut else '"')
    hexed = " ".join(f"{b:02x}" for b in payload[:5])
    return hexed + (" …" if length > 5 else "")


def size_text(n: int) -> str:
    return "1 byte" if n == 1 else f"{n} bytes"


def unanswered_syns(packets: list[Packet]) -> set[int]:
    """The indexes of the SYNs that got no answer: the same SYN came again
    (retransmitted) before any SYN/ACK or RST went back (lesson 06's full backlog)."""
    dropped = set()
    for i, p in enumerate(packets):
        if p.proto != "tcp" or p.flags & 0x12 != 0x02:
            continue
        for q in packets[i + 1:]:
            if (q.dst, q.dport) == (p.src, p.sport) and q.flags & 0x16:
                break  # an answer: SYN/ACK, or RST (and any ACK)
            if (q.src, q.sport) == (p.src, p.sport) and q.flags & 0x12 == 0x02:
                dropped.add(i)
                break
    return dropped


def packet_label(packet: Packet, unanswered: bool = False) -> tuple[str, str]:
    """(the bold part, the rest): ("SYN/ACK", ""), ("PSH/ACK", '5 bytes "hello"')."""
    if packet.proto == "udp":
        head = "UDP"
    else:
        head = flag_names(packet.flags)
    rest = []
    if packet.length or packet.proto == "udp":
        rest.append(size_text(packet.length))
        if packet.payload:
            rest.append(preview(packet.payload, packet.length))
    if packet.retransmission:
        rest.append("(retransmitted)")
    if unanswered:
        rest.append("(no answer)")
    return head, " ".join(rest)


def kind(packet: Packet) -> str:
    """A CSS class, for the arrow's colour."""
    if packet.proto == "udp":
        return "udp"
    if packet.flags & 0x04:
        return "rst"
    if packet.flags & 0x02:
        return "syn"
    if packet.flags & 0x01:
        return "fin"
    return "data" if packet.length else "ack"


# ------------------------------------------------------------------ drawing

STYLE = """
    .bg { fill: #fbfbfd; stroke: #c9ccd6; }
    text { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; fill: #1f2330; }
    .title { font-size: 17px; font-weight: bold; }
    .time, .foot, .gap { font-size: 14px; fill: #4a5060; }
    .cmd { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 14px;
           fill: #4a5060; }
    .who { font-size: 16px; font-weight: bold; }
    .port { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 14px;
            fill: #4a5060; }
    .life { stroke: #9aa0b4; stroke-width: 2; stroke-dasharray: 6 5; }
    .label { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 15px;
             paint-order: stroke; stroke: #fbfbfd; stroke-width: 5px; stroke-linejoin: round; }
    .label .head { font-weight: bold; }
    .gap { font-style: italic; paint-order: stroke; stroke: #fbfbfd; stroke-width: 5px; }
    .syn .shaft { stroke: #3949ab; } .syn .tip { fill: #3949ab; } .syn .label { fill: #3949ab; }
    .data .shaft { stroke: #2e7d32; } .data .tip { fill: #2e7d32; } .data .label { fill: #2e7d32; }
    .fin .shaft { stroke: #c25400; } .fin .tip { fill: #c25400; } .fin .label { fill: #c25400; }
    .rst .shaft { stroke: #c62828; } .rst .tip { fill: #c62828; } .rst .label { fill: #c62828; }
    .ack .shaft { stroke: #5f6472; } .ack .tip { fill: #5f6472; } .ack .label { fill: #5f6472; }
    .udp .shaft { stroke: #00796b; } .udp .tip { fill: #00796b; } .udp .label { fill: #00796b; }
    line.shaft { stroke-width: 2; }
"""


def _fit(text: str, width: float, char: float) -> str:
    """Cuts a line to what fits in `width` pixels at `char` pixels a character."""
    most = max(int(width // char), 4)
    return text if len(text) <= most else text[:most - 1] + "…"


def _wrap(text: str, width: float, char: float) -> list[str]:
    """Words into lines of at most `width` pixels at `char` pixels a character."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width // char:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _seconds(t: float) -> str:
    return f"{t:.3f} s"


def _gap(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms later" if seconds < 1 else f"{seconds:.2f} s later"


def ladder_svg(packets: list[Packet], *, server_port: int | None = None, title: str = "",
               commands: tuple[str, ...] = (), footnote: str = "", limit: int = 80,
               width: int = 560, gap: float = 0.02) -> str:
    """The ladder diagram of `packets` (in capture order) as SVG text.

    server_port: the server's port (its line is drawn on the right); None: the
    port the first SYN (or the first packet) went to. title, commands: lines at
    the top (the programs that talked); footnote: a line at the bottom. At most
    `limit` packets are drawn, and the rest counted. A pause of more than `gap`
    seconds between two packets is drawn as a gap with its length."""
    shown = list(packets[:limit])
    if server_port is None and shown:
        first_syn = next((p for p in shown if p.flags & 0x12 == 0x02), shown[0])
        server_port = first_syn.dport
    endpoints: list[tuple[str, int]] = []
    for p in shown:
        for end in ((p.src, p.sport), (p.dst, p.dport)):
            if end not in endpoints:
                endpoints.append(end)
    servers = [e for e in endpoints if e[1] == server_port]
    clients = [e for e in endpoints if e[1] != server_port]
    lanes = clients + servers
    one_host = len({host for host, _ in lanes}) <= 1

    # Geometry: the time column on the left, then the lanes evenly spread.
    time_col, row, drop, mono = 64, 32, 9, 9.03   # mono: DejaVu Sans Mono at 15px
    left, right = time_col + 52, width - 48
    step = (right - left) / max(len(lanes) - 1, 1)
    x = {end: (left + right) / 2 if len(lanes) == 1 else left + i * step
         for i, end in enumerate(lanes)}

    out: list[str] = []
    y = 14
    for line in _wrap(title, width - 32, 10.0)[:2]:
        y += 16 if y == 14 else 21
        out.append(f'<text x="16" y="{y}" class="title">{escape(_fit(line, width - 32, 10.0))}'
                   '</text>')
    for command in commands:
        y += 20
        out.append(f'<text x="16" y="{y}" class="cmd">$ {escape(_fit(command, width - 48, 8.43))}'
                   '</text>')
    y += 32
    for i, end in enumerate(lanes):
        host, port = end
        if end in servers:
            who = "server" if len(servers) == 1 else f"server {servers.index(end) + 1}"
        else:
            who = "client" if len(clients) == 1 else f"client {i + 1}"
        where = f":{port}" if one_host else f"{host}:{port}"
        small = ' style="font-size: 14px"' if len(lanes) > 4 else ""
        out.append(f'<text x="{x[end]:.1f}" y="{y}" text-anchor="middle" class="who"{small}>'
                   f'{who}</text>')
        out.append(f'<text x="{x[end]:.1f}" y="{y + 17}" text-anchor="middle" class="port">'
                   f'{escape(where)}</text>')
    out.append(f'<text x="{time_col}" y="{y + 17}" text-anchor="end" class="time">time</text>')
    top = y + 28
    y = top + 18
    arrows: list[str] = []
    unanswered = unanswered_syns(shown)
    previous = shown[0].time if shown else 0.0
    for n, p in enumerate(shown):
        if p.time - previous > gap and n:
            mid = (left + right) / 2
            arrows.append(f'<text x="{mid:.1f}" y="{y + 4}" text-anchor="middle" class="gap">'
                          f'… {_gap(p.time - previous)} …</text>')
            y += row
        previous = p.time
        x1, x2 = x[(p.src, p.sport)], x[(p.dst, p.dport)]
        y2 = y + drop
        direction = 1 if x2 >= x1 else -1
        tip = x2 - direction * 2
        c = kind(p)
        head, rest = packet_label(p, n in unanswered)
        text_len = len(head) + (len(rest) + 1 if rest else 0)
        half = text_len * mono / 2
        cx = min(max((x1 + x2) / 2, time_col + 8 + half), width - 8 - half)
        label = f'<tspan class="head">{escape(head)}</tspan>'
        if rest:
            label += f" {escape(rest)}"
        arrows.append(
            f'<g class="arrow {c}">'
            f'<line class="shaft" x1="{x1:.1f}" y1="{y}" x2="{tip - direction * 8:.1f}" '
            f'y2="{y2 - 0.9:.1f}"/>'
            f'<path class="tip" d="M{tip:.1f},{y2} l{-direction * 11},-6 l0,12 z"/>'
            f'<text x="{cx:.1f}" y="{y - 6}" text-anchor="middle" class="label">{label}'
            f'</text></g>')
        arrows.append(f'<text x="{time_col}" y="{y + 5}" text-anchor="end" class="time">'
                      f'{_seconds(p.time)}</text>')
        y += row
    bottom = y - row / 2 + 4
    for end in lanes:
        out.append(f'<line x1="{x[end]:.1f}" y1="{top}" x2="{x[end]:.1f}" y2="{bottom:.1f}" '
                   'class="life"/>')
    out.extend(arrows)
    y = bottom + 8
    notes = []
    if len(packets) > len(shown):
        notes.append(f"… and {len(packets) - len(shown)} more packets, not drawn")
    if footnote:
        notes.append(footnote)
    for note in notes:
        y += 18
        out.append(f'<text x="16" y="{y:.0f}" class="foot">{escape(_fit(note, width - 32, 7.9))}'
                   '</text>')
    height = int(y + 16)
    summary = (f"{len(shown)} packets between {len(clients)} client "
               f"endpoint{'s' if len(clients) != 1 else ''} and the server"
               + (f" on port {server_port}" if server_port else ""))
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="title desc">',
        f'<title id="title">{escape(title or "A packet ladder diagram")}</title>',
        f'<desc id="desc">{escape(summary)}, one arrow per packet, time going down.</desc>',
        f"<style>{STYLE}</style>",
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="8" class="bg"/>',
        *out, "</svg>", ""])
