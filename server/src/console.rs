//! The operator's web console on the operations listener: one page of plain HTML, CSS and
//! JavaScript (`src/console/`, embedded in the binary, no build step, nothing fetched
//! from elsewhere). It asks for the admin token and then uses the JSON admin API
//! ([`crate::http`]) from the browser: the devices with their activity, changes per grid
//! and day, and revoking a device. The page itself is public; everything it shows comes
//! through the admin token.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The page.
pub const INDEX_HTML: &str = include_str!("console/index.html");
/// Its script.
pub const CONSOLE_JS: &str = include_str!("console/console.js");
/// Its style sheet.
pub const CONSOLE_CSS: &str = include_str!("console/console.css");
/// Its icon (a browser asks for one; without it every load logs a 404).
pub const FAVICON_SVG: &str = include_str!("console/favicon.svg");

/// Scripts and styles from this origin only, no framing, nothing sent to other sites.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The console's routes (`/`, `/console.js`, `/console.css`, `/favicon.svg`), for merging
/// into the listener's router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", CONSOLE_JS) }),
        )
        .route(
            "/console.css",
            get(|| async { asset("text/css; charset=utf-8", CONSOLE_CSS) }),
        )
        .route(
            "/favicon.svg",
            get(|| async { asset("image/svg+xml", FAVICON_SVG) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_page_loads_only_its_own_assets() {
        assert!(INDEX_HTML.contains(r#"src="/console.js""#));
        assert!(INDEX_HTML.contains(r#"href="/console.css""#));
        for text in [INDEX_HTML, CONSOLE_JS, CONSOLE_CSS] {
            assert!(!text.contains("http://") && !text.contains("https://"));
        }
        // Values from the relay are set as text, never parsed as HTML.
        assert!(!CONSOLE_JS.contains("innerHTML"));
    }

    #[test]
    fn assets_are_not_cached_and_typed() {
        let r = asset("text/css; charset=utf-8", CONSOLE_CSS);
        let h = r.headers();
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::CONTENT_TYPE], "text/css; charset=utf-8");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}
