//! Errors that say what to do: each names the key, file, path or flag at
//! fault and the reason, and each subcommand's `--help` lists only its own
//! flags, each described.

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_authgate");

fn authgate(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTHGATE_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd.spawn().expect("spawn authgate");
    if let Some(mut i) = child.stdin.take() {
        i.write_all(stdin.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_unknown_key_names_file_line_and_the_nearest_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("authgate.toml");
    std::fs::write(
        &cfg,
        "listen = \"127.0.0.1:9\"\n# comment\nissuers = \"https://a.example\"\n",
    )
    .unwrap();
    let out = authgate(
        dir.path(),
        &["serve", "--config", cfg.to_str().unwrap()],
        "",
    );
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("issuers") && e.contains("authgate.toml line 3"),
        "{e}"
    );
    assert!(e.contains("did you mean `issuer`?"), "{e}");
    // Not a dump of every key.
    assert!(!e.contains("audit_queue_capacity"), "{e}");
    // In a table, the nearest key of that table.
    std::fs::write(&cfg, "[http]\nmax_connection = 5\n").unwrap();
    let e = stderr(&authgate(
        dir.path(),
        &["serve", "--config", cfg.to_str().unwrap()],
        "",
    ));
    assert!(
        e.contains("http.max_connection")
            && e.contains("line 2")
            && e.contains("`max_connections`"),
        "{e}"
    );
}

#[test]
fn an_empty_password_on_stdin_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    let out = authgate(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "a@example.com",
            "--database-url",
            &db,
        ],
        "\n",
    );
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("the password read from standard input is empty"),
        "{e}"
    );
}

#[test]
fn a_bad_data_dir_names_data_dir_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let cfg = dir.path().join("authgate.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\ndata_dir = \"file/sub\"\n").unwrap();
    let out = authgate(
        dir.path(),
        &["serve", "--config", cfg.to_str().unwrap()],
        "",
    );
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("data_dir") && e.contains("file/sub"), "{e}");
    assert!(e.contains("Not a directory"), "{e}");
}

#[test]
fn an_unopenable_sqlite_file_names_the_path_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("store.db");
    std::fs::create_dir(&db_dir).unwrap();
    let url = format!("sqlite://{}", db_dir.display());
    let out = authgate(dir.path(), &["user", "list", "--database-url", &url], "");
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains(&db_dir.display().to_string()) && e.contains("it is a directory"),
        "{e}"
    );
    assert!(!e.contains("code: 14"), "sqlx's internal text: {e}");
}

/// PostgreSQL's own error text ends with the line of its C source that
/// raised it; what people see must not.
#[test]
fn database_errors_carry_no_source_locations() {
    let base = std::env::var("AUTHGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/authgate_no_such_database"),
        None => panic!("odd AUTHGATE_TEST_POSTGRES_URL {base}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let out = authgate(dir.path(), &["user", "list", "--database-url", &url], "");
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("authgate_no_such_database"), "{e}");
    assert!(!e.contains(" at line "), "{e}");
}

#[test]
fn an_issuer_with_a_trailing_slash_is_refused_with_the_spelling_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = authgate(
        dir.path(),
        &["serve", "--issuer", "http://127.0.0.1:9/"],
        "",
    );
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("issuer") && e.contains("\"http://127.0.0.1:9\""),
        "{e}"
    );
}

/// The flags a subcommand's `--help` lists (long names).
fn flags(help: &str) -> Vec<String> {
    help.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l
                .strip_prefix("-h, ")
                .or_else(|| l.strip_prefix("-V, "))
                .unwrap_or(l);
            l.strip_prefix("--")
                .map(|f| f.split([' ', '<']).next().unwrap_or("").to_owned())
        })
        .collect()
}

#[test]
fn each_subcommand_help_lists_only_its_own_flags_each_described() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| {
        let mut a = args.to_vec();
        a.push("--help");
        let out = authgate(dir.path(), &a, "");
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let serve = flags(&help(&["serve"]));
    for f in [
        "config",
        "database-url",
        "issuer",
        "listen",
        "log-level",
        "log-json",
    ] {
        assert!(
            serve.contains(&f.to_string()),
            "serve lacks --{f}: {serve:?}"
        );
    }
    for f in ["server", "credentials"] {
        assert!(!serve.contains(&f.to_string()), "serve shows --{f}");
    }
    let add = flags(&help(&["user", "add"]));
    for f in [
        "email",
        "name",
        "admin",
        "config",
        "database-url",
        "server",
        "credentials",
    ] {
        assert!(
            add.contains(&f.to_string()),
            "user add lacks --{f}: {add:?}"
        );
    }
    for f in ["listen", "log-level", "log-json"] {
        assert!(!add.contains(&f.to_string()), "user add shows --{f}");
    }
    // Every flag of every subcommand has a description.
    for args in [
        &["serve"][..],
        &["user", "add"],
        &["user", "list"],
        &["resource", "add"],
        &["client", "add"],
        &["client", "show"],
        &["keys", "list"],
        &["admin", "revoke-grant"],
        &["audit"],
    ] {
        let text = help(args);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.trim_start().starts_with("--") {
                continue;
            }
            // Beside the flag, or (clap's long layout) on the next line.
            let beside = line
                .trim_start()
                .split_once("  ")
                .is_some_and(|(_, d)| !d.trim().is_empty());
            let below = lines.get(i + 1).is_some_and(|n| {
                let t = n.trim_start();
                !t.is_empty()
                    && !t.starts_with('-')
                    && n.len() - t.len() > line.len() - line.trim_start().len()
            });
            assert!(
                beside || below,
                "{args:?}: undescribed flag {line:?}\n{text}"
            );
        }
    }
    // --scope without a description is a documented choice.
    let scope = help(&["resource", "add"]);
    assert!(scope.contains("`name` alone"), "{scope}");
}

/// The flags still work before the subcommand, as scripts wrote them.
#[test]
fn flags_before_the_subcommand_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    let out = authgate(
        dir.path(),
        &["--database-url", &db, "user", "list", "--json"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = authgate(
        dir.path(),
        &["user", "list", "--json", "--database-url", &db],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// An `AUTHGATE_*` variable that sets nothing is a warning at start,
/// naming it and the nearest key.
#[test]
fn an_unknown_environment_variable_is_a_warning_naming_the_nearest_key() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("AUTHGATE_CONFIG")
        .env_remove("AUTHGATE_LOG")
        .env("AUTHGATE_ISUER", "https://auth.example.com")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("AUTHGATE_ISUER") {
                let _ = tx.send(line);
                return;
            }
        }
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("a warning naming AUTHGATE_ISUER");
    assert!(
        line.contains("WARN") && line.contains("did you mean AUTHGATE_ISSUER?"),
        "{line}"
    );
}
