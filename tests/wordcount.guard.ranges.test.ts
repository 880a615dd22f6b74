// Every special-purpose block the address guard knows, with addresses just inside each end
// and just outside it, so that dropping a block, widening or narrowing it, or dropping the
// unwrapping of an IPv4 address inside an IPv6 one fails a case here.

import { describe, expect, test } from "bun:test";
import { type AddressKind, classifyIp } from "../lib/tasks/wordcount/guard.ts";

// One block a line: the block, its kind ("_" for a space), addresses inside it, and after "|"
// the addresses just outside it that are public. Neighbours in another block are listed there.
const TABLE = `
0.0.0.0/8           unspecified     0.0.0.0 0.255.255.255 | 1.0.0.0
10.0.0.0/8          private         10.0.0.0 10.255.255.255 | 9.255.255.255 11.0.0.0
100.64.0.0/10       CGNAT           100.64.0.0 100.127.255.255 | 100.63.255.255 100.128.0.0
127.0.0.0/8         loopback        127.0.0.0 127.255.255.255 | 126.255.255.255 128.0.0.0
169.254.0.0/16      link-local      169.254.0.0 169.254.169.253 169.254.169.255 169.254.255.255 | 169.253.255.255 169.255.0.0
169.254.169.254/32  cloud_metadata  169.254.169.254
172.16.0.0/12       private         172.16.0.0 172.31.255.255 | 172.15.255.255 172.32.0.0
192.0.0.0/24        reserved        192.0.0.0 192.0.0.255 | 191.255.255.255 192.0.1.0
192.0.2.0/24        reserved        192.0.2.0 192.0.2.255 | 192.0.1.255 192.0.3.0
192.88.99.0/24      reserved        192.88.99.0 192.88.99.255 | 192.88.98.255 192.88.100.0
192.168.0.0/16      private         192.168.0.0 192.168.255.255 | 192.167.255.255 192.169.0.0
198.18.0.0/15       reserved        198.18.0.0 198.19.255.255 | 198.17.255.255 198.20.0.0
198.51.100.0/24     reserved        198.51.100.0 198.51.100.255 | 198.51.99.255 198.51.101.0
203.0.113.0/24      reserved        203.0.113.0 203.0.113.255 | 203.0.112.255 203.0.114.0
224.0.0.0/4         multicast       224.0.0.0 239.255.255.255 | 223.255.255.255
240.0.0.0/4         reserved        240.0.0.0 255.255.255.254
255.255.255.255/32  broadcast       255.255.255.255
::/128              unspecified     ::
::1/128             loopback        ::1
::a.b.c.d           loopback        ::127.0.0.1 ::7f00:1 | ::8.8.8.8
::a.b.c.d           private         ::10.0.0.1
::a.b.c.d           unspecified     ::2
::ffff:a.b.c.d      loopback        ::ffff:127.0.0.1 ::ffff:7f00:1
::ffff:0:0/96       reserved        ::ffff:8.8.8.8 ::ffff:1.0.0.0 ::ffff:223.255.255.255
::ffff:0:0:0/96     reserved        ::ffff:0:0:0 ::ffff:0:8.8.8.8 ::ffff:0:ffff:ffff | ::fffe:ffff:ffff:ffff ::ffff:1:0:0
64:ff9b::/96        loopback        64:ff9b::127.0.0.1 | 64:ff9b::8.8.8.8
64:ff9b:1::/48      reserved        64:ff9b:1:: 64:ff9b:1:ffff:ffff:ffff:ffff:ffff | 64:ff9b:0:ffff:ffff:ffff:ffff:ffff 64:ff9b:2::
100::/64            reserved        100:: 100::ffff:ffff:ffff:ffff | ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 100:0:0:1::
2001::/32           reserved        2001:: 2001:0:ffff:ffff:ffff:ffff:ffff:ffff | 2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff 2001:1::
2001:2::/48         reserved        2001:2:: 2001:2:0:ffff:ffff:ffff:ffff:ffff
3fff::/20           reserved        3fff:: 3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff | 3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff 3fff:1000::
2001:db8::/32       reserved        2001:db8:: 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff | 2001:db7:ffff:ffff:ffff:ffff:ffff:ffff 2001:db9::
2002::/16           loopback        2002:7f00:1:: | 2002:808:808::
2002::/16           private         2002:a00:1::
fc00::/7            unique-local    fc00:: fd00:ec2::253 fd00:ec2::255 fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff | fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff fe00::
fd00:ec2::254/128   cloud_metadata  fd00:ec2::254
fe80::/10           link-local      fe80:: febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff | fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff
fec0::/10           private         fec0:: feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
ff00::/8            multicast       ff00:: ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
`;

const CASES = TABLE.trim()
  .split("\n")
  .flatMap((line) => {
    const [head = "", outside = ""] = line.split("|");
    const [block = "", kind = "", ...inside] = head.trim().split(/\s+/);
    const words = (text: string) => text.trim().split(/\s+/).filter(Boolean);
    return [
      ...inside.map((ip) => [ip, block, kind.replace("_", " ")]),
      ...words(outside).map((ip) => [ip, block, "public"]),
    ];
  });

describe("every special-purpose block, at and around its edges", () => {
  test("the table is read whole", () => {
    expect(CASES.length).toBe(118);
  });

  test.each(CASES)("%s (near %s) is %s", (ip, _block, kind) => {
    expect(classifyIp(ip)).toBe(kind as AddressKind);
  });
});
