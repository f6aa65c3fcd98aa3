use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_says_ok_while_the_store_takes_writes() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn healthz_fails_when_the_store_is_locked_by_another_writer() {
    let app = spawn_app().await;
    let lock = app.hold_write_lock();

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 503);
    drop(lock);
    assert_eq!(app.get("/healthz").await.status(), 200);
}
