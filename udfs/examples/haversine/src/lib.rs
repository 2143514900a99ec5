//! Great-circle distance between two points on Earth, in kilometres: a numeric UDF.
//!
//! ```sql
//! CREATE FUNCTION main.default.haversine(lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, lon2 DOUBLE)
//!   RETURNS DOUBLE LANGUAGE WASM AS '/path/to/haversine.wasm';
//! SELECT haversine(52.52, 13.40, 48.86, 2.35);  -- Berlin to Paris: 877.5
//! ```

const EARTH_RADIUS_KM: f64 = 6371.0088;

lakeplane_udf::udf! {
    pub fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
        let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
        let dp = p2 - p1;
        let dl = (lon2 - lon1).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
    }
}
