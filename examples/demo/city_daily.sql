-- Transform: fares per city and day.
CREATE OR REPLACE TABLE demo.city_daily AS
SELECT city, pickup_date, count(*) AS trips, round(sum(fare_usd), 2) AS fares_usd
FROM demo.trips
GROUP BY city, pickup_date;
