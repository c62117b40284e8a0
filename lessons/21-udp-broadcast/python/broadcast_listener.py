"""Python twin of broadcast_listener: print every datagram, and where it was sent to."""
import argparse
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")  # 0.0.0.0 to hear broadcasts
parser.add_argument("--port", type=int, default=8021)
parser.add_argument("--count", type=int, default=0)
args = parser.parse_args()

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's value, for older Pythons

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # several listeners, one port
udp.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)  # tell us each datagram's destination
udp.bind((args.host, args.port))
host, port = udp.getsockname()
print(f"bound to {host}:{port}", flush=True)

received = 0
try:
    while args.count == 0 or received < args.count:
        data, ancillary, _, (sender_host, sender_port) = udp.recvmsg(65536, 256)
        destination = "?"
        for level, kind, payload in ancillary:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                # struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
                destination = socket.inet_ntoa(payload[8:12])
        text = data.decode("utf-8", errors="backslashreplace")
        text = text.replace("\n", "\\n").replace("\r", "\\r")  # one datagram, one line
        print(f"from {sender_host}:{sender_port} to {destination}: {text}", flush=True)
        received += 1
except KeyboardInterrupt:
    pass
finally:
    udp.close()
