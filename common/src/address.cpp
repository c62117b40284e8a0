#include "course/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <system_error>

#include "course/error.hpp"

namespace course {

namespace {

// getaddrinfo reports its own error codes (EAI_*), not errno values.
struct GaiCategory : std::error_category {
    [[nodiscard]] const char* name() const noexcept override { return "getaddrinfo"; }
    [[nodiscard]] std::string message(int code) const override { return ::gai_strerror(code); }
};

const GaiCategory gai_category;

}  // namespace

std::string Endpoint::to_string() const {
    return format_address(addr(), length);
}

std::vector<Endpoint> resolve(const std::string& host, std::uint16_t port, int socktype,
                              bool passive) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;  // IPv4 or IPv6, whichever the name has
    hints.ai_socktype = socktype;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    const std::string service = std::to_string(port);
    const char* node = (passive && host.empty()) ? nullptr : host.c_str();

    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(node, service.c_str(), &hints, &found); rc != 0) {
        if (rc == EAI_SYSTEM) throw_errno("resolve " + host);
        throw std::system_error(rc, gai_category, "resolve " + host);
    }
    std::vector<Endpoint> endpoints;
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        Endpoint e;
        e.family = ai->ai_family;
        e.socktype = ai->ai_socktype;
        e.protocol = ai->ai_protocol;
        e.length = ai->ai_addrlen;
        std::memcpy(&e.storage, ai->ai_addr, ai->ai_addrlen);
        endpoints.push_back(e);
    }
    ::freeaddrinfo(found);
    return endpoints;
}

std::string format_address(const sockaddr* address, socklen_t length) {
    char text[INET6_ADDRSTRLEN] = {};
    if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
        return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
    }
    if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
    }
    if (address->sa_family == AF_UNIX) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(address);
        const auto header = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path));
        if (length <= header || un->sun_path[0] == '\0') return "unix:(unnamed)";
        return "unix:" + std::string(un->sun_path, ::strnlen(un->sun_path, length - header));
    }
    return "unknown-address-family-" + std::to_string(address->sa_family);
}

std::string local_address(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    check(::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length), "getsockname");
    return format_address(reinterpret_cast<const sockaddr*>(&storage), length);
}

std::string peer_address(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    // A client may reset the connection between accept() and here. That is
    // not the server's failure: name it, and let the next recv() report it.
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) < 0) {
        if (errno == ENOTCONN) return "(peer already gone)";
        throw_errno("getpeername");
    }
    return format_address(reinterpret_cast<const sockaddr*>(&storage), length);
}

std::uint16_t local_port(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    check(::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length), "getsockname");
    if (storage.ss_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    if (storage.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    return 0;
}

}  // namespace course
