use super::*;

#[test]
fn urls_name_engine_user_host_port_database_and_sslmode() {
    let u = parse_url("postgres://monitor:pw@127.0.0.1:5433/monitest?sslmode=require").unwrap();
    assert_eq!(u.engine, Some(Engine::Pgsql));
    assert_eq!(u.user.as_deref(), Some("monitor"));
    assert_eq!(u.password.as_ref().map(|p| p.expose()), Some("pw"));
    assert_eq!((u.host.as_deref(), u.port), (Some("127.0.0.1"), Some(5433)));
    assert_eq!(u.database.as_deref(), Some("monitest"));
    assert_eq!(u.sslmode.as_deref(), Some("require"));
    let u = parse_url("mysql://monitor@[::1]/").unwrap();
    assert_eq!(
        (u.engine, u.host.as_deref(), u.port),
        (Some(Engine::Mysql), Some("::1"), None)
    );
    assert!(parse_url("ftp://x").is_err());
    assert!(parse_url("no url").is_err());
}
