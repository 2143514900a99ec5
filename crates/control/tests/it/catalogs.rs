//! The catalog over a real store: the built-in `main.default`, nesting, CASCADE, renames fenced
//! by versions.

use lakeplane_core::catalog::{
    CatalogError, CatalogInfo, FullName, Metastore, SchemaInfo, SchemaName, TableInfo, TableType,
    TableUpdate,
};
use lakeplane_store::testing::{Fault, Op};

use crate::faulty;

fn catalog(name: &str) -> CatalogInfo {
    CatalogInfo {
        name: name.into(),
        comment: None,
        properties: Default::default(),
        owner: "me".into(),
        created_at: 1,
        created_by: "me".into(),
        id: format!("id-{name}"),
    }
}

fn schema(c: &str, s: &str) -> SchemaInfo {
    SchemaInfo {
        catalog_name: c.into(),
        name: s.into(),
        comment: Some("c".into()),
        properties: Default::default(),
        owner: "me".into(),
        created_at: 1,
        created_by: "me".into(),
        id: format!("id-{c}.{s}"),
    }
}

fn table(c: &str, s: &str, t: &str) -> TableInfo {
    TableInfo {
        catalog_name: c.into(),
        schema_name: s.into(),
        name: t.into(),
        table_type: TableType::Managed,
        data_source_format: Some("DELTA".into()),
        storage_location: Some(format!("file:///lake/{t}/")),
        view_definition: None,
        comment: None,
        properties: Default::default(),
        owner: "me".into(),
        table_id: format!("id-{t}"),
        created_at: 1,
        created_by: "me".into(),
        updated_at: 1,
        updated_by: "me".into(),
    }
}

#[tokio::test]
async fn main_default_exists_and_objects_nest() {
    let (control, _) = faulty().await;
    let m = control.catalogs();
    let names = |v: Vec<CatalogInfo>| v.into_iter().map(|c| c.name).collect::<Vec<_>>();
    assert_eq!(names(m.list_catalogs().await.unwrap()), ["main"]);
    let main_default = SchemaName::new("main", "default").unwrap();
    assert!(m.get_schema(&main_default).await.is_ok());
    assert!(matches!(
        m.drop_catalog("main", true).await,
        Err(CatalogError::Invalid(_))
    ));

    m.create_catalog(catalog("sales")).await.unwrap();
    assert!(matches!(
        m.create_catalog(catalog("sales")).await,
        Err(CatalogError::AlreadyExists {
            kind: "Catalog",
            ..
        })
    ));
    assert!(matches!(
        m.create_schema(schema("nope", "s")).await,
        Err(CatalogError::NotFound {
            kind: "Catalog",
            ..
        })
    ));
    m.create_schema(schema("sales", "raw")).await.unwrap();
    m.create_table(table("sales", "raw", "b")).await.unwrap();
    m.create_table(table("sales", "raw", "a")).await.unwrap();
    let raw = SchemaName::new("sales", "raw").unwrap();
    let tables: Vec<String> = m
        .list_tables(&raw)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(tables, ["a", "b"]);

    let err = m.drop_catalog("sales", false).await.unwrap_err();
    assert!(
        err.to_string().contains("not empty") && err.to_string().contains("CASCADE"),
        "{err}"
    );
    let dropped = m.drop_catalog("sales", true).await.unwrap();
    assert_eq!(dropped.len(), 2, "the caller learns which tables went");
    assert!(matches!(
        m.get_table(&FullName::new("sales", "raw", "a").unwrap())
            .await,
        Err(CatalogError::NotFound { .. })
    ));
    assert_eq!(names(m.list_catalogs().await.unwrap()), ["main"]);
}

#[tokio::test]
async fn a_rename_that_loses_a_race_takes_its_new_entry_back_and_tries_again() {
    let (control, store) = faulty().await;
    let m = control.catalogs();
    m.create_table(table("main", "default", "t")).await.unwrap();
    let (t, u) = (
        FullName::new("main", "default", "t").unwrap(),
        FullName::new("main", "default", "u").unwrap(),
    );
    // The old entry changed between the read and the delete: the first delete conflicts.
    store.inject(Op::Delete, Fault::Conflict);
    let renamed = m.rename_table(&t, &u).await.unwrap();
    assert_eq!(renamed.name, "u");
    assert_eq!(renamed.table_id, "id-t", "the same table under a new name");
    assert!(m.get_table(&t).await.is_err());
    assert_eq!(
        m.list_tables(&t.schema_name()).await.unwrap().len(),
        1,
        "no second entry left behind"
    );

    m.create_table(table("main", "default", "v")).await.unwrap();
    let taken = m
        .rename_table(&FullName::new("main", "default", "v").unwrap(), &u)
        .await;
    assert!(matches!(taken, Err(CatalogError::AlreadyExists { .. })));

    let updated = m
        .update_table(
            &u,
            TableUpdate::Properties {
                set: [("k".to_string(), "v".to_string())].into(),
                unset: vec![],
            },
            "you",
        )
        .await
        .unwrap();
    assert_eq!(updated.properties["k"], "v");
    assert_eq!(updated.updated_by, "you");
}
