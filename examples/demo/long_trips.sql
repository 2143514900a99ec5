-- Transform: trips over 5 km, with fare per km.
CREATE OR REPLACE TABLE demo.long_trips AS
SELECT trip_id, city, distance_km, round(fare_usd / distance_km, 2) AS usd_per_km
FROM demo.trips
WHERE distance_km > 5;
