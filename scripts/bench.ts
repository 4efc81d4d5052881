// Benchmarks land with their own issue; this keeps `npm run bench` honest meanwhile.
console.log("No benchmarks are defined yet.");
