-- Ingest: land the raw trips CSV in a Delta table. {{source}} is a job parameter.
CREATE SCHEMA IF NOT EXISTS demo;
CREATE OR REPLACE TABLE demo.trips AS
SELECT CAST(trip_id AS BIGINT) AS trip_id,
       city,
       CAST(distance_km AS DOUBLE) AS distance_km,
       CAST(fare_usd AS DOUBLE) AS fare_usd,
       CAST(pickup_date AS DATE) AS pickup_date
FROM read_files('{{source}}', format => 'csv', header => true);
