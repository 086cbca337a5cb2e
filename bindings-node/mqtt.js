'use strict'
// `require('iotsec/mqtt').Mqtt`, as `require('azure-iot-device-mqtt').Mqtt`.
module.exports = { Mqtt: require('./index.js').Mqtt }
