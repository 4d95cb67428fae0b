using System.Net;
using System.Net.Sockets;

namespace Otchatsa.Indexing;

/// <summary>
/// Decides whether an address is on the public internet. Catalog URLs come from files the operator may not have
/// written, so fetching them must not become a way to reach the machine itself or its private network (SSRF).
/// </summary>
internal static class NetworkAddressPolicy
{
    /// <summary>True for globally routable unicast addresses; false for loopback, private, link-local, CGNAT, multicast, reserved, ….</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();

        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => IsPublicV4(address.GetAddressBytes()),
            AddressFamily.InterNetworkV6 => IsPublicV6(address),
            _ => false,
        };
    }

    private static bool IsPublicV4(byte[] b) => b switch
    {
        [0, ..] => false,                                  // "this network"
        [10, ..] => false,                                 // private
        [100, >= 64 and <= 127, ..] => false,              // carrier-grade NAT
        [127, ..] => false,                                // loopback
        [169, 254, ..] => false,                           // link-local, cloud metadata endpoints
        [172, >= 16 and <= 31, ..] => false,               // private
        [192, 0, 0, _] => false,                           // IETF protocol assignments
        [192, 0, 2, _] => false,                           // documentation
        [192, 88, 99, _] => false,                         // 6to4 relay anycast
        [192, 168, ..] => false,                           // private
        [198, 18 or 19, ..] => false,                      // benchmarking
        [198, 51, 100, _] => false,                        // documentation
        [203, 0, 113, _] => false,                         // documentation
        [>= 224, ..] => false,                             // multicast, reserved, broadcast
        _ => true,
    };

    private static bool IsPublicV6(IPAddress address)
    {
        if (IPAddress.IPv6Loopback.Equals(address) || IPAddress.IPv6None.Equals(address))
            return false;
        if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal)
            return false;

        var b = address.GetAddressBytes();
        // NAT64 (64:ff9b::/96) and IPv4-compatible (::/96) addresses carry an IPv4 address: judge that one.
        if ((b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            || b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)
        {
            return IsPublicV4(b[12..]);
        }
        // 6to4 (2002::/16) embeds an IPv4 address in bytes 2..5.
        if (b[0] == 0x20 && b[1] == 0x02)
            return IsPublicV4(b[2..6]);
        // Documentation (2001:db8::/32).
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
            return false;
        // Only global unicast (2000::/3) is routable on the internet.
        return (b[0] & 0xE0) == 0x20;
    }
}
