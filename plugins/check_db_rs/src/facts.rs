//! What a database session found, as plain facts for the evaluate
//! functions of the four binaries.

use std::time::Duration;

/// The two engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// MySQL or MariaDB.
    Mysql,
    /// PostgreSQL.
    Pgsql,
}

impl Engine {
    /// The default port.
    pub fn default_port(self) -> u16 {
        match self {
            Engine::Mysql => 3306,
            Engine::Pgsql => 5432,
        }
    }

    /// The name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Mysql => "MySQL",
            Engine::Pgsql => "PostgreSQL",
        }
    }
}

/// The first row of a query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryFacts {
    /// The first column of the first row, as text (`None`: no rows, or NULL).
    pub first: Option<String>,
    /// The second column, shown as extra information.
    pub second: Option<String>,
    /// Whether any row came back.
    pub has_row: bool,
    /// How long the query took.
    pub elapsed: Duration,
}

/// A replica's view of its replication (MySQL replica, PostgreSQL standby).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicaFacts {
    /// The receiving side runs (MySQL's IO thread, PostgreSQL's WAL receiver).
    pub receiving: bool,
    /// The applying side runs (MySQL's SQL thread; PostgreSQL: always).
    pub applying: bool,
    /// Seconds behind the source, when the server knows.
    pub lag: Option<f64>,
    /// The last error the replica reported, if any.
    pub error: Option<String>,
    /// How the receiving side calls its state (`Yes`, `streaming`).
    pub receiver_state: String,
}

/// A primary's replicas (PostgreSQL's pg_stat_replication).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicaLink {
    /// Who (application name or address).
    pub name: String,
    /// `streaming`, `catchup`...
    pub state: String,
    /// Replay lag in seconds.
    pub lag: Option<f64>,
}

/// What `--replication` found.
#[derive(Debug, Clone, PartialEq)]
pub enum Replication {
    /// This server is a replica.
    Replica(ReplicaFacts),
    /// This server is a primary with these replicas attached.
    Primary(Vec<ReplicaLink>),
    /// Neither a replica nor a primary with replicas.
    None,
}

/// Everything one session found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// The engine.
    pub engine: Option<Engine>,
    /// The server's version string.
    pub version: String,
    /// The database connected to.
    pub database: String,
    /// Connect and log in.
    pub connect: Duration,
    /// The whole session.
    pub elapsed: Duration,
    /// TLS version, when the session is encrypted.
    pub tls: Option<String>,
    /// `--query`.
    pub query: Option<Result<QueryFacts, String>>,
    /// `--replication`.
    pub replication: Option<Result<Replication, String>>,
    /// `--connections`: (in use, max_connections).
    pub connections: Option<Result<(u64, u64), String>>,
    /// MySQL's SHOW GLOBAL STATUS (check_mysql_rs's perfdata).
    pub status: Vec<(String, String)>,
}

impl Facts {
    /// A status variable's value.
    pub fn status(&self, name: &str) -> Option<&str> {
        self.status
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
