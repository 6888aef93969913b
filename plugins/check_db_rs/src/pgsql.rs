//! PostgreSQL with tokio-postgres on a connection of ours (the library's
//! connect within the deadline, or the local socket), TLS by the library's
//! rustls configuration when the server agrees to it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use rsplugins::net::{connect, AddressFamily, Deadline};
use rsplugins::tls::{TlsFacts, TlsOptions};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, TlsConnect};
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::facts::{Engine, Facts, QueryFacts, ReplicaFacts, ReplicaLink, Replication};
use crate::target::{pgpass, Target, TlsUse, Work};
use crate::DbFailure;

/// Our TLS for tokio-postgres: the library's handshake, its facts kept.
struct Tls {
    host: String,
    options: TlsOptions,
    deadline: Deadline,
    facts: Arc<Mutex<Option<TlsFacts>>>,
}

/// The TLS stream tokio-postgres reads (no channel binding: SCRAM without -PLUS).
struct TlsConn<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsConn<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsConn<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for TlsConn<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S> TlsConnect<S> for Tls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = TlsConn<S>;
    type Error = rsplugins::net::NetError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsConn<S>, Self::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let (tls, facts) =
                rsplugins::tls::handshake(stream, &self.host, &self.options, &self.deadline)
                    .await?;
            if let Ok(mut slot) = self.facts.lock() {
                *slot = Some(facts);
            }
            Ok(TlsConn(tls))
        })
    }
}

fn db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let text = e.to_string();
            match std::error::Error::source(e) {
                Some(source) => format!("{text}: {source}"),
                None => text,
            }
        }
    }
}

/// Every row of `sql`, each as its text columns.
async fn all_rows(client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let messages = client.simple_query(sql).await.map_err(|e| db_error(&e))?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

/// The first row of `sql` as text columns.
async fn first_row(client: &Client, sql: &str) -> Result<Option<Vec<Option<String>>>, String> {
    Ok(all_rows(client, sql).await?.into_iter().next())
}

/// A column's number (seconds, counts).
fn number(text: Option<&Option<String>>) -> Option<f64> {
    text.and_then(|t| t.as_deref()).and_then(|t| t.parse().ok())
}

async fn replication(client: &Client) -> Result<Replication, String> {
    let recovering = first_row(client, "SELECT pg_is_in_recovery()")
        .await?
        .and_then(|r| r.into_iter().next().flatten())
        .is_some_and(|v| v == "t");
    if recovering {
        // On an idle primary nothing is replayed: lag only while WAL waits to be replayed.
        let row = first_row(
            client,
            "SELECT (SELECT status FROM pg_stat_wal_receiver LIMIT 1), \
             CASE WHEN pg_last_wal_receive_lsn() IS NULL \
                    OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                  ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END",
        )
        .await?
        .unwrap_or_default();
        let status = row.first().cloned().flatten();
        return Ok(Replication::Replica(ReplicaFacts {
            receiving: status.as_deref() == Some("streaming"),
            applying: true,
            lag: number(row.get(1)),
            error: None,
            receiver_state: status.unwrap_or_else(|| "no WAL receiver".to_string()),
        }));
    }
    let rows = all_rows(
        client,
        "SELECT COALESCE(NULLIF(application_name, ''), host(client_addr), 'local'), state, \
         EXTRACT(EPOCH FROM replay_lag) FROM pg_stat_replication ORDER BY 1",
    )
    .await?;
    if rows.is_empty() {
        return Ok(Replication::None);
    }
    Ok(Replication::Primary(
        rows.iter()
            .map(|r| ReplicaLink {
                name: r.first().cloned().flatten().unwrap_or_default(),
                state: r.get(1).cloned().flatten().unwrap_or_default(),
                lag: number(r.get(2)).or(Some(0.0)),
            })
            .collect(),
    ))
}

async fn session(client: &Client, work: &Work, facts: &mut Facts) -> Result<(), DbFailure> {
    if work.describe {
        facts.version = first_row(client, "SHOW server_version")
            .await
            .map_err(DbFailure::critical)?
            .and_then(|r| r.into_iter().next().flatten())
            .unwrap_or_default();
    }
    if let Some(sql) = &work.query {
        let begun = Instant::now();
        facts.query = Some(first_row(client, sql).await.map(|row| {
            let row = row.unwrap_or_default();
            QueryFacts {
                has_row: !row.is_empty(),
                first: row.first().cloned().flatten(),
                second: row.get(1).cloned().flatten(),
                elapsed: begun.elapsed(),
            }
        }));
    }
    if work.connections {
        let row = first_row(
            client,
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
             current_setting('max_connections')::int",
        )
        .await;
        facts.connections = Some(row.and_then(|r| {
            let r = r.unwrap_or_default();
            match (number(r.first()), number(r.get(1))) {
                (Some(used), Some(max)) => Ok((used as u64, max as u64)),
                _ => Err("no connection counts".to_string()),
            }
        }));
    }
    if work.replication {
        facts.replication = Some(replication(client).await);
    }
    Ok(())
}

/// Connects, logs in, does the work and returns the facts.
pub async fn acquire(target: &Target, work: &Work, deadline: Deadline) -> Result<Facts, DbFailure> {
    let started = Instant::now();
    let user = target
        .user
        .clone()
        .or_else(|| std::env::var("PGUSER").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "postgres".to_string());
    let database = target.database.clone().unwrap_or_else(|| user.clone());
    let mut config = tokio_postgres::Config::new();
    config
        .user(&user)
        .dbname(&database)
        .application_name("check_db_rs");
    let password = target
        .password
        .clone()
        .or_else(|| pgpass(target, &user, &database));
    if let Some(p) = &password {
        config.password(p.expose());
    }
    config.ssl_mode(match target.tls {
        TlsUse::Off => SslMode::Disable,
        TlsUse::Prefer => SslMode::Prefer,
        TlsUse::Require => SslMode::Require,
    });
    let tls_facts = Arc::new(Mutex::new(None));
    let during = "logging in";
    let mut facts = Facts {
        engine: Some(Engine::Pgsql),
        database: database.clone(),
        ..Facts::default()
    };
    let client = match &target.host {
        Some(host) => {
            let connected = connect(host, target.tcp_port(), AddressFamily::Any, &deadline)
                .await
                .map_err(DbFailure::net)?;
            let tls = Tls {
                host: host.clone(),
                options: target.tls_options.clone(),
                deadline,
                facts: Arc::clone(&tls_facts),
            };
            let (client, connection) = deadline
                .run(config.connect_raw(connected.stream, tls))
                .await
                .ok_or_else(|| DbFailure::timeout(&deadline, during))?
                .map_err(|e| DbFailure::login(&e, &database))?;
            tokio::spawn(connection);
            client
        }
        None => {
            let path = target.socket_path();
            let stream = deadline
                .run(tokio::net::UnixStream::connect(&path))
                .await
                .ok_or_else(|| DbFailure::timeout(&deadline, "connecting to the socket"))?
                .map_err(|e| DbFailure::socket(&path, &e))?;
            let (client, connection) = deadline
                .run(config.connect_raw(stream, tokio_postgres::NoTls))
                .await
                .ok_or_else(|| DbFailure::timeout(&deadline, during))?
                .map_err(|e| DbFailure::login(&e, &database))?;
            tokio::spawn(connection);
            client
        }
    };
    facts.connect = started.elapsed();
    facts.tls = tls_facts
        .lock()
        .ok()
        .and_then(|f| f.as_ref().map(|f| f.version.clone()));
    deadline
        .run(session(&client, work, &mut facts))
        .await
        .ok_or_else(|| DbFailure::timeout(&deadline, "waiting for the server's answers"))??;
    facts.elapsed = started.elapsed();
    Ok(facts)
}

impl DbFailure {
    fn login(e: &tokio_postgres::Error, database: &str) -> DbFailure {
        DbFailure::critical(format!("no connection to '{database}' ({})", db_error(e)))
    }
}
