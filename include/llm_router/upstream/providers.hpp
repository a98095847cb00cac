#pragma once

#include <memory>

#include "llm_router/config/config.hpp"
#include "llm_router/upstream/exchange.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace llm_router::upstream {

// TLS settings of HTTPS backends: the system trust store, and the PEM certificates of
// `extra_ca_file` when given (std::runtime_error when it cannot be read or holds none); peer
// verification on.
std::shared_ptr<asio::ssl::context> make_tls_context(const std::string& extra_ca_file = {});

// One provider per backend per io thread (its connection pool is that thread's alone).
std::unique_ptr<Provider> make_provider(const config::Backend& backend, asio::io_context& io,
                                        std::shared_ptr<asio::ssl::context> tls);

}  // namespace llm_router::upstream
