//! Who is calling: address and user agent, and the [`Client`] extractor that hands them to
//! a handler.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use gatehouse_application::ClientInfo;

use crate::{ApiError, AppState, WebSettings};

/// The caller's address and user agent, as a handler argument.
pub struct Client(pub ClientInfo);

impl FromRequest for Client {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.app_data::<web::Data<AppState>>()
                .map(|state| Client(client_info(req, &state.web)))
                .ok_or_else(|| ApiError::unavailable("service is starting")),
        )
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// nearest untrusted hop of `X-Forwarded-For` (read right to left, since each proxy appends
/// and only the hops added by our own proxies are believable).
pub fn client_address(req: &HttpRequest, web: &WebSettings) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = |ip: &IpAddr| web.trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop_address(hop) else { break };
        nearest = ip;
        if !trusted(&ip) {
            break;
        }
    }
    Some(nearest)
}

/// One `X-Forwarded-For` hop: an address, or an address with a port as some proxies write
/// it (`203.0.113.9:4711`, `[2001:db8::1]:443`, `[2001:db8::1]`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}

/// Address and user agent of the request.
pub fn client_info(req: &HttpRequest, web: &WebSettings) -> ClientInfo {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect());
    ClientInfo {
        address: client_address(req, web),
        user_agent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn web(proxies: &[&str]) -> WebSettings {
        WebSettings {
            trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(),
            ..WebSettings::default()
        }
    }

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut request = TestRequest::default().peer_addr(format!("{peer}:4000").parse().unwrap());
        if let Some(value) = forwarded {
            request = request.insert_header(("X-Forwarded-For", value));
        }
        request.to_http_request()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let req = request("203.0.113.9", Some("1.2.3.4"));
        assert_eq!(
            client_address(&req, &web(&["10.0.0.0/8"])),
            Some("203.0.113.9".parse().unwrap())
        );
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let req = request("10.0.0.2", Some("6.6.6.6, 198.51.100.7, 10.0.0.1"));
        assert_eq!(
            client_address(&req, &web(&["10.0.0.0/8"])),
            Some("198.51.100.7".parse().unwrap())
        );
    }

    #[test]
    fn hops_with_ports_or_brackets_name_their_address() {
        for (hop, expected) in [
            ("198.51.100.7:4711", "198.51.100.7"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::2]", "2001:db8::2"),
        ] {
            let req = request("10.0.0.2", Some(hop));
            assert_eq!(
                client_address(&req, &web(&["10.0.0.0/8"])),
                Some(expected.parse().unwrap()),
                "{hop}"
            );
        }
    }

    #[test]
    fn garbage_in_the_header_stops_the_walk() {
        let req = request("10.0.0.2", Some("198.51.100.7, not-an-ip"));
        assert_eq!(
            client_address(&req, &web(&["10.0.0.0/8"])),
            Some("10.0.0.2".parse().unwrap())
        );
    }
}
