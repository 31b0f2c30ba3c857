//! `POST /api/kyc/unenroll` `{User}` (seed 000).

use serde_json::{Map, Value, json};

use super::{AppState, Caller, Reply, fields};
use crate::codes::ApiCode;
use crate::db::UnenrollOutcome;

pub async fn run(s: &AppState, caller: &Caller, req: &Map<String, Value>) -> Reply {
    let user = match fields::user(req) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let channel = caller.channel.id.as_str();
    let lock = s.channel_lock(channel);
    let _one_at_a_time = lock.lock().await;
    match s.store.unenroll(channel, &user).await {
        Ok(UnenrollOutcome::Removed) => {
            s.index.remove(channel, &user);
            Reply::new(ApiCode::Ok).with("User", json!(user))
        }
        Ok(UnenrollOutcome::UserNotFound) => Reply::because(ApiCode::UserNotFound, "not_enrolled"),
        Ok(UnenrollOutcome::ChannelNotFound) => {
            Reply::because(ApiCode::ChannelNotFound, "channel_has_no_enrollments")
        }
        Err(e) => Reply::storage(&e),
    }
}
