//! How the dashboard names who did something: events record a person by
//! user id (sign-ins) or email (dashboard changes), an API client as
//! `client:<id>`. Pages show the email, with the id on hover.

use crate::state::AppState;
use std::collections::HashMap;

/// An actor as shown: the text, and what hovering shows (the other name).
#[derive(Debug, Clone, Default)]
pub struct Named {
    pub label: String,
    pub title: String,
}

/// Names each distinct actor once (a page has at most a few dozen).
/// A lookup that fails leaves the actor as recorded: names are a
/// courtesy, never a reason to fail the page.
pub async fn name_actors<'a>(
    state: &AppState,
    actors: impl Iterator<Item = &'a str>,
) -> HashMap<String, Named> {
    let mut out = HashMap::new();
    for actor in actors {
        if actor.is_empty() || out.contains_key(actor) {
            continue;
        }
        let named = name_one(state, actor).await;
        out.insert(actor.to_owned(), named);
    }
    out
}

async fn name_one(state: &AppState, actor: &str) -> Named {
    let as_recorded = Named {
        label: actor.to_owned(),
        title: String::new(),
    };
    if actor.starts_with("client:") {
        return Named {
            title: "an admin API client".into(),
            ..as_recorded
        };
    }
    if actor.contains('@') {
        return match state.store.get_user_by_email(&actor.to_lowercase()).await {
            Ok(Some(u)) => Named {
                label: actor.to_owned(),
                title: format!("user id {}", u.id),
            },
            _ => as_recorded,
        };
    }
    match state.store.get_user(actor).await {
        Ok(Some(u)) => Named {
            label: u.email,
            title: format!("user id {}", u.id),
        },
        _ => as_recorded,
    }
}

/// The names one person may be recorded under, for the audit filter: what
/// was typed, and the person's email or id when it names a user.
pub async fn recorded_names(state: &AppState, typed: &str) -> Vec<String> {
    let mut names = vec![typed.to_owned()];
    let user = if typed.contains('@') {
        state.store.get_user_by_email(&typed.to_lowercase()).await
    } else {
        state.store.get_user(typed).await
    };
    if let Ok(Some(u)) = user {
        for n in [u.id, u.email] {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
}
